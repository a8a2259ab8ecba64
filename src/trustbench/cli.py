"""Command line: `trustbench run | score | list | data download`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from .config import RunConfig, load_config
from .errors import EXIT_INCOMPLETE, TrustbenchError

if TYPE_CHECKING:
    from .profiles import Profile

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Measure how trustworthy an LLM is.")
data_app = typer.Typer(no_args_is_help=True, help="Get and check the benchmark data.")
app.add_typer(data_app, name="data")
# Untrusted text (paths, model names, errors, model output) is never markup: print it with markup=False or
# escape(); emoji codes are off so `openai:m:` stays text.
console = Console(stderr=True, emoji=False, highlight=False)
out = Console(emoji=False, highlight=False)


def _split(value: Optional[str], option: str = "--tasks") -> list[str] | None:
    """A comma-separated option; given but naming nothing (`--tasks ,`) is an error, never 'all'."""
    from .preflight import select

    return select(value, option) if value is not None else None


def _judge_specs(judge: list[str] | None, config: "RunConfig | None" = None) -> dict[str, str | None]:
    """Judge spec per kind: defaults, then the config file's [judges], then --judge options."""
    from .judges import DEFAULT_SPECS, KINDS

    specs: dict[str, str | None] = dict(DEFAULT_SPECS)
    for kind, spec in (config.judges if config else {}).items():
        if kind not in KINDS:
            raise TrustbenchError(f"config [judges]: unknown kind '{kind}'; kinds: {', '.join(KINDS)}")
        specs[kind] = spec or None
    for item in judge or []:
        kind, sep, spec = item.partition("=")
        if not sep or kind not in KINDS:
            raise TrustbenchError(f"--judge expects KIND=SPEC with KIND in {', '.join(KINDS)}; got '{item}'")
        specs[kind] = spec or None
    return specs


def _second_specs(items: list[str] | None) -> dict[str, str]:
    """--second-judge KIND=SPEC options as {kind: spec}."""
    out = {}
    for item in items or []:
        kind, sep, spec = item.partition("=")
        if not sep or not spec:
            raise TrustbenchError(f"--second-judge expects KIND=SPEC, e.g. refusal=hf:LibrAI/longformer-harmful-ro; got '{item}'")
        out[kind] = spec
    return out


def _default_run_dir(label: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)[:60]
    return Path("runs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{safe}"


def _summary(doc: dict[str, Any]) -> None:
    from rich.markup import escape

    from .progress import print_fitted

    table = Table(title=f"trustbench · {escape(doc['model']['id'])} · mode {escape(doc['mode'])}")
    for col in ("task", "metric", "value", "95% CI", "n", "invalid", "judge"):
        table.add_column(col)
    for task_id, t in doc["tasks"].items():
        m = t["metrics"][t["headline"]]
        value = "—" if m["value"] is None else f"{m['value']:.3f}"
        arrow = "↑" if m["direction"] == "higher" else "↓"
        ci = f"[{m['ci'][0]:.3f}, {m['ci'][1]:.3f}]" if m.get("ci") else ""
        if m["value"] is None:
            ci = escape(str(m.get("reason", "")))
        table.add_row(task_id, f"{t['headline']} {arrow}", value, ci, str(t["n_items"]), str(t["n_invalid"]), escape(str(m.get("judge"))))
    print_fitted(out, table)


def _write_report(run_dir: Path) -> None:
    """End a run with its HTML report; the run's files are already complete if this fails."""
    from .report import render_report

    try:
        out.print(f"Report: {render_report(run_dir)}", markup=False, soft_wrap=True)
    except Exception as exc:  # the report is a view: its failure never costs the run (results are written)
        from rich.markup import escape

        why = str(exc) if isinstance(exc, TrustbenchError) else f"{type(exc).__name__}: {exc} (a bug in trustbench)"
        console.print(f"[yellow]report not written:[/] {escape(why)}; retry with `trustbench report {escape(str(run_dir))}`",
                      highlight=False)


@app.command()
def run(
    model: list[str] = typer.Option(None, "--model", "-m", help="Model spec, repeat to evaluate several into --out and compare them; default: the embedded SmolLM2-135M-Instruct."),
    data: Path = typer.Option(None, "--data", help="TrustLLM data directory (else TRUSTBENCH_DATA, else the cache)."),
    dimension: str = typer.Option(None, "--dimension", "-d", help="Comma-separated dimensions."),
    tasks: str = typer.Option(None, "--tasks", "-t", help="Comma-separated task ids (dimension/name)."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="First N items of each task."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Run directory (default runs/<time>-<model>)."),
    compat: str = typer.Option(None, "--compat", "--profile", help="Scoring profile: 'trustllm' reproduces the original scorer's numbers; default fixes its defects."),
    judge: list[str] = typer.Option(None, "--judge", help="KIND=SPEC, e.g. refusal=rules (repeatable)."),
    second_judge: list[str] = typer.Option(None, "--second-judge", help="refusal=SPEC: a judge to compare the first with (agreement in the results)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    config: Path = typer.Option(None, "--config", help="TOML file with a \\[model] spec and \\[judges] per kind."),
    survey_data: Path = typer.Option(None, "--survey-data", help="Survey (llm_eval) data directory (else TRUSTBENCH_SURVEY_DATA, else the cache)."),
    survey_file: list[str] = typer.Option(None, "--survey-file", help="NAME=PATH input of a survey study: halueval, copyright, misuse, safety (repeatable)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an --out folder that holds a different run."),
    task_file: list[Path] = typer.Option(None, "--task-file", help="A declarative task (TOML, see README) to run (repeatable)."),
    include: list[Path] = typer.Option(None, "--include", help="A folder of task files (*.toml) to run (repeatable)."),
    ray: str = typer.Option(None, "--ray", help="Generate on a Ray cluster: local, auto or HOST:PORT (pip install 'trustbench[ray]')."),
    replicas: int = typer.Option(1, "--replicas", help="With --ray: backend replicas (Ray actors) pulling work."),
    num_gpus: float = typer.Option(None, "--num-gpus", help="With --ray: GPUs per replica."),
    num_cpus: float = typer.Option(None, "--num-cpus", help="With --ray: CPUs per replica."),
    ray_judges: str = typer.Option(None, "--ray-judges", help="With --ray: judge kinds run by Ray actors too (refusal, embedding, toxicity, llm, or all), with --num-cpus/--num-gpus each; rules-based judges (refusal=rules, toxicity=profanity-check) gain nothing and stay local."),
    judge_replicas: int = typer.Option(1, "--judge-replicas", help="With --ray-judges: Ray actors per judge."),
    reference: str = typer.Option("none", "--reference", help="With several --model: add the paper's models to compare.md (trustllm-paper|none)."),
    chat_template: str = typer.Option(None, "--chat-template", help="llamacpp models: a Jinja chat template file or a format name (chatml, llama-3, ...) instead of the GGUF's own."),
) -> None:
    """Evaluate a model (or several) on the chosen tasks and write a run directory (per model)."""
    from .config import store_path
    from .data import DataDir, resolve_data_dir, resolve_survey_dir, survey_inputs
    from .judges import JudgeSet
    from .models import DEFAULT_MODEL
    from .runner import evaluate
    from .tasks import default_tasks, select_tasks

    profile = _profile(compat)
    cfg = load_config(config)
    from .taskfile import load_task_files

    from_files = load_task_files(task_file or (), include or ())
    if (dimension, tasks) != (None, None):
        chosen = select_tasks(_split(dimension, "--dimension"), _split(tasks))
    else:
        chosen = [] if from_files else default_tasks()
    chosen += [t for t in from_files if t not in chosen]
    root = resolve_data_dir(data)
    extra = survey_inputs(survey_file)
    if any(t.source == "llm_eval" for t in chosen):
        extra += (("llm_eval", resolve_survey_dir(survey_data)),)
    from .multirun import RayOptions, backend_factory, folder_names, model_entries, write_compare

    entries = model_entries(model, cfg.models, DEFAULT_MODEL)
    ray_opts = RayOptions(ray, replicas, num_gpus, num_cpus, ray_judges, judge_replicas)
    ray_opts.check()
    from .preflight import prepare_run
    from .rundir import fix_modes
    from .secrets import mask

    specs, second = _judge_specs(judge, cfg), _second_specs(second_judge)
    multi = len(entries) > 1  # several models: one run folder each under --out, then compare.md/.html there
    base = out_dir or _default_run_dir("models" if multi else mask(entries[0][0]))
    names = folder_names([mask(s) for s, _ in entries], [n for _, n in entries])
    if chat_template:  # a spec option like any other: checked, recorded in model.spec, part of the cache identity
        entries = [(f"{s},chat_template={chat_template}", n) for s, n in entries]
    targets, incomplete = [], []
    for i, ((spec, _), name) in enumerate(zip(entries, names)):
        target = base / name if multi else base
        identity = {"kind": "run", "model": mask(spec), "tasks": sorted(t.id for t in chosen), "mode": profile.name, "limit": limit}
        checked = [s for s, _ in entries] if i == 0 else [spec]  # every model spec checked before the first runs
        store, stage = prepare_run(checked, specs, second, chosen, DataDir(root, extra), target, identity, overwrite, store_path())
        judges = JudgeSet(store, specs, second, remote=ray_opts.judge_options())
        with stage:  # the run is written beside the target and renamed into place only when complete
            try:
                doc = evaluate(chosen, DataDir(root, extra), stage.stage, store, judges, profile,
                               limit=limit, backend_factory=backend_factory(spec, ray_opts), model_spec=mask(spec),
                               show_progress=not quiet)
            finally:
                judges.close()  # Ray judge actors free their CPUs/GPUs before the next model generates
        _summary(doc)
        out.print(f"Run directory: {target}", markup=False, soft_wrap=True)
        _write_report(target)
        fix_modes(target)
        targets.append(target)
        incomplete += [f"{mask(spec)}: {r}" if multi else r for r in doc.get("incomplete") or []]
    if multi:
        md, html = write_compare(targets, base, reference)
        out.print(f"Comparison: {md} and {html}", markup=False, soft_wrap=True)
    _exit_status({"incomplete": incomplete})


def _profile(value: str | None) -> "Profile":
    from .profiles import get_profile

    return get_profile(None if value in (None, "", "none") else value)


def _exit_status(doc: dict[str, Any]) -> None:
    """Exit 3 when the run finished but is incomplete (items failed or unjudged, metrics without value)."""
    reasons = doc.get("incomplete") or []
    if reasons:
        from rich.markup import escape

        console.print(f"[yellow]incomplete run[/] ({len(reasons)} problem{'s' if len(reasons) != 1 else ''}):",
                      highlight=False)
        for r in reasons[:10]:
            console.print(f"  - {escape(r)}", highlight=False)
        if len(reasons) > 10:
            console.print(f"  ... and {len(reasons) - 10} more (results.json 'incomplete')", highlight=False)
        raise typer.Exit(EXIT_INCOMPLETE)


@app.command()
def score(
    responses: Path = typer.Option(..., "--responses", "-r", help="Folder of <section>/<file>.json with 'res' per record."),
    out_dir: Path = typer.Option(None, "--out", "-o", help="Run directory."),
    compat: str = typer.Option(None, "--compat", "--profile", help="Scoring profile: 'trustllm' reproduces the original scorer's numbers; default fixes its defects."),
    judge: list[str] = typer.Option(None, "--judge", help="KIND=SPEC (repeatable)."),
    second_judge: list[str] = typer.Option(None, "--second-judge", help="refusal=SPEC: a judge to compare the first with (agreement in the results)."),
    tasks: str = typer.Option(None, "--tasks", "-t", help="Comma-separated task ids."),
    config: Path = typer.Option(None, "--config", help="TOML file with \\[judges] per kind."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an --out folder that holds a different run."),
) -> None:
    """Score responses generated elsewhere (the original TrustLLM toolkit's layout)."""
    from .config import store_path
    from .judges import JudgeSet
    from .preflight import check_responses, prepare_run
    from .rundir import fix_modes
    from .runner import score_responses
    from .tasks import default_tasks, select_tasks

    chosen = select_tasks(None, _split(tasks)) if tasks is not None else default_tasks()
    check_responses(chosen, responses)
    profile = _profile(compat)
    specs, second = _judge_specs(judge, load_config(config)), _second_specs(second_judge)
    target = out_dir or _default_run_dir(f"scored-{responses.name}")
    identity = {"kind": "score", "model": f"responses:{responses}", "tasks": sorted(t.id for t in chosen), "mode": profile.name, "limit": None}
    store, stage = prepare_run([], specs, second, chosen, None, target, identity, overwrite, store_path())
    with stage:
        doc = score_responses(chosen, responses, stage.stage, JudgeSet(store, specs, second), profile)
    _summary(doc)
    out.print(f"Run directory: {target}", markup=False, soft_wrap=True)
    _write_report(target)
    fix_modes(target)
    _exit_status(doc)


@app.command("list")
def list_tasks(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    data: Path = typer.Option(None, "--data", help="Data directory, to show sample counts."),
    taxonomy: str = typer.Option(None, "--taxonomy", help="'survey' or 'trustllm': which tasks measure each (sub-)category."),
) -> None:
    """Show dimensions, tasks, their data files, sample counts and metrics."""
    from .data import DataDir, resolve_data_dir
    from .tasks import all_tasks

    if taxonomy:
        from .commands.survey import print_taxonomy

        print_taxonomy(taxonomy, as_json)
        return

    try:
        root: Path | None = resolve_data_dir(data)
    except (TrustbenchError, OSError):
        root = None
    rows = []
    for task in all_tasks().values():
        n = None
        if root is not None and task.source == "trustllm":
            try:  # through the task's own loader: some tasks derive their records from another file
                n = len(task.samples(task.load(DataDir(root))))
            except (TrustbenchError, OSError):  # its file is missing from this data directory, or unreadable
                n = None
        rows.append({
            "id": task.id, "dimension": task.dimension, "file": task.file, "samples": n,
            "temperature": task.temperature, "judges": list(task.judge_kinds),
            "metrics": [{"name": m.name, "direction": m.direction, "headline": m.headline} for m in task.metrics()],
            "description": task.description,
        })
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(title="trustbench tasks" + ("" if root else " (no data found: sample counts unknown)"))
    for col in ("task", "file", "samples", "temp", "metrics"):
        table.add_column(col)
    for r in rows:
        ms = ", ".join(("*" if m["headline"] else "") + m["name"] + ("↑" if m["direction"] == "higher" else "↓") for m in r["metrics"])
        table.add_row(r["id"], r["file"], "?" if r["samples"] is None else str(r["samples"]), str(r["temperature"]), ms)
    from .progress import print_fitted

    print_fitted(out, table)


@data_app.command("download")
def data_download(
    to: Path = typer.Option(None, "--to", help="Target directory (default: the per-user cache)."),
    source: str = typer.Option("auto", "--source", help="auto | hub | github | a zip path or URL."),
) -> None:
    """Fetch the TrustLLM dataset (Hugging Face hub, or the zip in the GitHub repository)."""
    from .config import data_cache_dir
    from .data.download import download
    from .data.loader import SECTIONS

    dest = download(to or data_cache_dir(), source)
    found = [s for s in SECTIONS if (dest / s).is_dir()]
    out.print(f"TrustLLM data installed in {dest} ({', '.join(found)})", markup=False, soft_wrap=True)


@data_app.command("check")
def data_check(data: Path = typer.Option(None, "--data", help="Data directory.")) -> None:
    """Validate every task file of a data directory."""
    from .data import DataDir, resolve_data_dir
    from .tasks import registry

    root = resolve_data_dir(data)
    total = 0
    seen: set[str] = set()
    for task in (t for t in registry().values() if t.source == "trustllm"):
        recs = task.load(DataDir(root))  # a task deriving its records from another file validates that file
        task.validate(recs)  # structure too (e.g. AdvGLUE pairs), as a run checks it before generation
        if task.file not in seen and (root / task.file).is_file():
            seen.add(task.file)
            total += len(recs)
    out.print(f"{root}: {len(seen)} files, {total} records, all valid", markup=False, soft_wrap=True)


from .commands import register_all  # noqa: E402  (commands register on the app defined above)

register_all(app)


def _error(text: str, label: str = "error") -> None:
    """One error line: credentials masked, the text escaped (a path holding `[/b]` is text, not markup)."""
    from rich.markup import escape

    from .secrets import mask

    console.print(f"[bold red]{label}:[/] {escape(mask(text))}", soft_wrap=True)  # one line, whatever the width


def main() -> None:
    import os

    from .errors import EXIT_ERROR, EXIT_USAGE

    try:
        status = app(standalone_mode=False)  # a command's typer.Exit(n) comes back as its return value here
        if isinstance(status, int) and status:
            sys.exit(status)
    except TrustbenchError as exc:
        _error(str(exc))
        sys.exit(getattr(exc, "exit_code", EXIT_USAGE))
    except KeyboardInterrupt:
        console.print("interrupted: every response generated so far is saved; run the same command to resume")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:  # usage errors: typer >= 0.20 raises its own vendored click's, older ones click's
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            sys.exit(exc.exit_code)
        if os.environ.get("TRUSTBENCH_DEBUG"):
            raise
        if isinstance(exc, OSError):  # permission denied, a file where a folder should be, disk full, ...
            where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f)
            _error(f"{where}: {exc.strerror or exc}" if where else f"{exc.strerror or exc}")
        else:
            _error(f"{type(exc).__name__}: {exc} (a bug in trustbench; TRUSTBENCH_DEBUG=1 shows where)", "internal error")
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
