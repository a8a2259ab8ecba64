"""Find the TrustLLM data directory and load its files with validation.

Lookup order: explicit --data, then TRUSTBENCH_DATA, then the per-user cache that
`trustbench data download` fills. A directory may hold the six section folders directly
or one level down (the zip's `dataset/` folder).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..config import data_cache_dir, home
from ..errors import TrustbenchError

SECTIONS = ("truthfulness", "safety", "fairness", "robustness", "privacy", "ethics")


def _find_root(path: Path) -> Path | None:
    for candidate in (path, path / "dataset", path / "trustllm"):
        if candidate.is_dir() and any((candidate / s).is_dir() for s in SECTIONS):
            return candidate
    return None


def _where(explicit: str | Path | None, option: str, env: str, cache: Path) -> tuple[str, Path]:
    """(where it came from, the folder to look in): the option's value, else the environment variable, else the
    per-user cache."""
    if explicit:
        return option, Path(explicit).expanduser()
    if os.environ.get(env):
        return env, Path(os.environ[env]).expanduser()
    return "the per-user cache", cache


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """Return the data root or raise one clear error saying where we looked."""
    origin, path = _where(explicit, "--data", "TRUSTBENCH_DATA", data_cache_dir())
    root = _find_root(path)
    if root is not None:
        return root.resolve()
    raise TrustbenchError(
        f"No TrustLLM data found in {origin} ({path}): expected folders such as ethics/ and safety/. "
        "Pass --data DIR, set TRUSTBENCH_DATA, or run `trustbench data download`."
    )


SURVEY_MARKERS = ("gen_data", "intermediate_data")
# Survey study inputs a user supplies (study option name -> environment variable).
SURVEY_INPUTS = {
    "halueval": "TRUSTBENCH_HALUEVAL",  # HaluEval qa_data.json (`trustbench survey fetch-halueval` caches one)
    "copyright": "TRUSTBENCH_COPYRIGHT_TEXT",  # any plain-text file for the copyright-leakage study
    "misuse": "TRUSTBENCH_MISUSE_PROMPTS",  # JSON/JSONL records {type, prompt} replacing the curated misuse set
    "safety": "TRUSTBENCH_SAFETY_QUESTIONS",  # JSONL written by `trustbench survey generate-safety`
}


def resolve_survey_dir(explicit: str | Path | None = None) -> Path:
    """The survey release (kevinyaobytedance/llm_eval) root: --survey-data, TRUSTBENCH_SURVEY_DATA, the cache."""
    origin, path = _where(explicit, "--survey-data", "TRUSTBENCH_SURVEY_DATA", home() / "data" / "llm_eval")
    for candidate in (path, path / "llm_eval"):
        if all((candidate / m).is_dir() for m in SURVEY_MARKERS):
            return candidate.resolve()
    raise TrustbenchError(
        f"No survey data found in {origin} ({path}): expected the folders gen_data/ and intermediate_data/ of the "
        "llm_eval release (github.com/kevinyaobytedance/llm_eval). Pass --survey-data DIR or set TRUSTBENCH_SURVEY_DATA."
    )


def survey_inputs(pairs: list[str] | None = None) -> tuple[tuple[str, Path], ...]:
    """User-supplied study inputs from `--survey-file NAME=PATH` pairs, then their environment variables."""
    chosen: dict[str, str] = {name: os.environ[env] for name, env in SURVEY_INPUTS.items() if os.environ.get(env)}
    for item in pairs or []:
        name, sep, value = item.partition("=")
        if not sep or name not in SURVEY_INPUTS or not value:
            raise TrustbenchError(f"--survey-file expects NAME=PATH with NAME in {', '.join(SURVEY_INPUTS)}; got '{item}'")
        chosen[name] = value
    return tuple((name, Path(value).expanduser()) for name, value in chosen.items())


@dataclass(frozen=True)
class DataDir:
    """The data roots of a run: `trustllm` (the benchmark) and optional others (e.g. `llm_eval`)."""

    root: Path
    extra: tuple[tuple[str, Path], ...] = ()

    def root_for(self, source: str) -> Path:
        if source == "trustllm":
            return self.root
        for name, path in self.extra:
            if name == source:
                return path
        raise TrustbenchError(f"No data directory configured for '{source}'")

    def optional(self, source: str) -> Path | None:
        """An extra root or input if configured (e.g. the user's copyright text), else None."""
        return dict(self.extra).get(source)

    def path(self, rel: str, source: str = "trustllm") -> Path:
        return self.root_for(source) / rel

    def file_hash(self, rel: str, source: str = "trustllm") -> str:
        path = self.path(rel, source)
        return _sha256(path) if path.is_file() else ""


def _types(typ: type | tuple[type, ...]) -> tuple[type, ...]:
    return typ if isinstance(typ, tuple) else (typ,)


@lru_cache(maxsize=64)
def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=64)
def _load_json(path: Path, mtime: float) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TrustbenchError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except UnicodeDecodeError as exc:
        raise TrustbenchError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if not isinstance(data, list):
        raise TrustbenchError(f"{path}: expected a JSON list of records, found {type(data).__name__}")
    return data


def load_records(path: Path, required: dict[str, type | tuple[type, ...]]) -> list[dict[str, Any]]:
    """Load a list-of-records JSON file; every record must be an object with the required typed fields."""
    if not path.is_file():
        raise TrustbenchError(f"Data file missing: {path}")
    records = _load_json(path, path.stat().st_mtime)
    if not records:
        raise TrustbenchError(f"{path}: holds no records (an empty list): nothing to evaluate")
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise TrustbenchError(f"{path}, record {i}: expected an object, found {type(rec).__name__}")
        for name, typ in required.items():
            if name not in rec:
                raise TrustbenchError(f"{path}, record {i}: missing field '{name}'")
            if not isinstance(rec[name], typ) or (isinstance(rec[name], bool) and bool not in _types(typ)):
                want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
                raise TrustbenchError(
                    f"{path}, record {i}: field '{name}' should be {want}, found {type(rec[name]).__name__}"
                )
    return records
