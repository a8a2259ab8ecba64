"""Validate everything a run needs before any model is loaded or any response generated.

Checked, in the order a user would fix them: the model spec (parsed; a local model file or folder exists;
an endpoint URL is http(s) and its key is set), every judge spec (parsed, no weights loaded), every selected
task's data records (loaded and validated, pair structure included), the output folder (created and
writable, see rundir), and the store (opens, schema version, `PRAGMA quick_check`, writable). A fault found
here costs seconds; found after generation it costs the run.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .errors import TrustbenchError
from .secrets import mask, register_in


def _local(ref: str) -> bool:
    return ref.startswith(("/", ".", "~"))


def check_model_spec(spec: str, where: str = "--model") -> None:
    """Parse a model spec and check what can be checked offline: files exist, URLs and keys are usable."""
    from urllib.parse import urlsplit

    from .models import parse_spec

    register_in(spec)  # credentials in its URL are masked from here on, in every message
    s = parse_spec(spec)
    if s.kind == "llamacpp" and s.target:
        path = Path(s.target).expanduser()
        if not path.is_file():
            raise TrustbenchError(f"{where} {mask(spec)}: model file not found: {path}")
    elif s.kind == "hf" and _local(s.target) and not Path(s.target).expanduser().exists():
        raise TrustbenchError(f"{where} {mask(spec)}: model folder not found: {s.target}")
    elif s.kind == "openai":
        model, _, url = s.target.partition("@")
        if not model:
            raise TrustbenchError(f"{where} {mask(spec)}: no model name; use openai:MODEL or openai:MODEL@URL")
        if url:
            parts = urlsplit(url)
            try:
                parts.port  # noqa: B018  (raises on a malformed port)
            except ValueError:
                raise TrustbenchError(f"{where} {mask(spec)}: '{mask(url)}' has an invalid port") from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise TrustbenchError(f"{where} {mask(spec)}: '{mask(url)}' is not an http(s) URL")
        env = s.options.get("key_env")
        if env and not os.environ.get(env):
            raise TrustbenchError(f"{where} {mask(spec)}: no API key; set the environment variable {env}")
        if not url and not env and not os.environ.get("OPENAI_API_KEY"):
            raise TrustbenchError(f"{where} {mask(spec)}: no API key; set the environment variable OPENAI_API_KEY")
    elif s.kind == "scripted" and not Path(s.target).expanduser().is_file():
        raise TrustbenchError(f"{where} {mask(spec)}: rules file not found: {s.target}")


def check_hub_model(ref: str, where: str) -> None:
    """Offline (HF_HUB_OFFLINE=1), a hub model name must already be in the local cache: say so now, not after generation."""
    if _local(ref) or Path(ref).exists() or os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes"):
        return
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return
    try:
        found = try_to_load_from_cache(ref, "config.json")
    except Exception:  # noqa: BLE001  (a malformed repo id: the judge's own loader will name it)
        return
    if not isinstance(found, str):
        raise TrustbenchError(f"{where}: '{ref}' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; "
                              "download it first (unset HF_HUB_OFFLINE once) or give a local folder")


def check_judges(specs: Mapping[str, str | None], second: Mapping[str, str] | None = None) -> None:
    """Every configured judge spec parses and names something that exists (weights are not loaded)."""
    from .judges import check_spec

    for kind, spec in specs.items():
        check_spec(kind, spec)
    for kind, spec in (second or {}).items():
        check_spec(kind, spec)


def check_tasks(tasks: Sequence[Any], data: Any) -> None:
    """Every selected task's records load and validate (types, vocabularies, pair structure)."""
    for task in tasks:
        records = task.load(data)
        validate = getattr(task, "validate", None)
        if validate is not None:
            validate(records)


def check_store(path: Path) -> Any:
    """Open the store and check its integrity and that it takes writes; returns the open Store."""
    from .store import Store

    store = Store(path)
    try:
        store.check(writable=True)
    except TrustbenchError:
        store.close()
        raise
    return store


def check_responses(tasks: Sequence[Any], responses_dir: Path) -> None:
    """`score --responses DIR`: each task's file, where present, is a readable regular file.

    A file that is a directory, a dangling or looping symlink, or unreadable is named here, instead of
    being skipped and ending as 'no response files found'."""
    if responses_dir.is_symlink() and not responses_dir.exists():
        raise TrustbenchError(f"--responses {responses_dir}: a symbolic link that loops or points nowhere")
    try:
        if not responses_dir.is_dir():
            raise TrustbenchError(f"--responses: not a directory: {responses_dir}")
    except OSError as exc:
        raise TrustbenchError(f"--responses {responses_dir}: cannot access it ({exc.strerror})") from None
    for task in tasks:
        path = responses_dir / task.file
        try:
            if path.is_symlink() and not path.exists():
                raise TrustbenchError(f"{path}: a symbolic link that loops or points nowhere; expected a JSON file")
            if path.is_dir():
                raise TrustbenchError(f"{path}: a directory; expected the JSON file of {task.id}'s responses")
            if path.exists():
                with open(path, "rb"):
                    pass
        except OSError as exc:
            raise TrustbenchError(f"{path}: cannot read it ({exc.strerror})") from None


def prepare_run(model_specs: Sequence[str], judge_specs: Mapping[str, str | None], second: Mapping[str, str],
                tasks: Sequence[Any], data: Any, target: Path, identity: dict[str, Any], overwrite: bool,
                store_file: Path) -> tuple[Any, Any]:
    """Every check before compute, in order; returns (open store, RunDir stage to write the run into)."""
    from .rundir import prepare

    for spec in model_specs:
        check_model_spec(spec)
    check_judges(judge_specs, second)
    if data is not None:
        check_tasks(tasks, data)
    store = check_store(store_file)
    try:
        return store, prepare(target, identity, overwrite)
    except BaseException:
        store.close()
        raise


def select(value: str | None, option: str) -> list[str] | None:
    """A comma-separated option as a list; None when not given; an option given empty is an error, not 'all'."""
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise TrustbenchError(f"{option} {value!r} names nothing; give comma-separated names, or leave {option} out for all")
    return items


__all__ = ["check_hub_model", "check_judges", "check_model_spec", "check_responses", "check_store", "check_tasks", "prepare_run", "select"]
