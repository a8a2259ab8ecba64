"""Wire the pipeline: samples -> store lookup -> generate what is missing -> judge -> metrics -> run dir.

The runner knows no task or backend in particular.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .core import Request, Response, Sample, Verdict
from .data import DataDir, load_records
from .errors import TrustbenchError
from .judges import JudgeSet
from .models import ModelBackend
from .report.scores import scores_object
from .results import base_document, task_result, trustllm_object, write_json_atomic
from .store import Store, response_key
from .tasks import ScoringContext, Task


@dataclass
class Plan:
    """The samples of each task for this run."""

    tasks: list[Task]
    samples: dict[str, list[Sample]] = field(default_factory=dict)


def plan(tasks: Sequence[Task], data: DataDir, limit: int | None) -> Plan:
    p = Plan(list(tasks))
    for task in tasks:
        p.samples[task.id] = task.samples(task.load(data), limit)
    return p


def generate(
    p: Plan, backend: ModelBackend, store: Store, show_progress: bool = True
) -> tuple[dict[str, dict[str, Response]], dict[str, Any]]:
    """Responses per task (sample id -> Response); only prompts missing from the store are generated."""
    keyed: dict[str, list[tuple[str, str]]] = {}  # request key -> [(task id, sample id)]
    requests: dict[str, Request] = {}
    for task in p.tasks:
        if not task.generates:
            continue
        for s in p.samples[task.id]:
            settings = task.settings_for(s)
            key = response_key(backend.id, settings, s.prompt)
            keyed.setdefault(key, []).append((task.id, s.id))
            requests.setdefault(key, Request(key, s.prompt, settings))
    found = store.get_responses(requests)
    missing = [r for k, r in requests.items() if k not in found]
    stats = {"requests": len(requests), "cached": len(found), "generated": 0, "failed": 0, "tokens": 0, "seconds": 0.0}
    errors: dict[str, str] = {}
    if missing:
        start = time.perf_counter()
        columns = [TextColumn("[bold]generating"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[tps]}"),
                   TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn()]
        with Progress(*columns, disable=not show_progress, transient=False) as bar:
            job = bar.add_task("gen", total=len(missing), tps="")
            try:
                for req, resp in backend.generate(missing):
                    if resp.text is None:
                        stats["failed"] += 1
                        errors[req.key] = resp.error or "generation failed"
                    else:
                        store.put_response(req.key, backend.id, req.settings, req.prompt, resp)
                        found[req.key] = resp
                        stats["generated"] += 1
                        stats["tokens"] += resp.tokens
                    elapsed = time.perf_counter() - start
                    bar.update(job, advance=1, tps=f"{stats['tokens'] / max(elapsed, 1e-9):.0f} tok/s")
            except TrustbenchError:
                raise
            except Exception as exc:  # the backend died: keep what we have, say so once
                raise TrustbenchError(
                    f"Generation with {backend.id} stopped: {type(exc).__name__}: {exc}. "
                    f"{stats['generated']} new responses were saved; run the same command again to resume."
                ) from None
        stats["seconds"] = time.perf_counter() - start
    per_task: dict[str, dict[str, Response]] = {t.id: {} for t in p.tasks}
    for key, owners in keyed.items():
        for task_id, sample_id in owners:
            if key in found:
                per_task[task_id][sample_id] = found[key]
            else:
                per_task[task_id][sample_id] = Response(text=None, error=errors.get(key, "not generated"))
    return per_task, stats


def score(
    p: Plan, responses: dict[str, dict[str, Response]], judges: JudgeSet, compat: bool
) -> tuple[dict[str, dict[str, Any]], dict[str, list[Verdict]]]:
    ctx = ScoringContext(compat=compat, judges=judges)
    results: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, list[Verdict]] = {}
    for task in p.tasks:
        answered = {sid: r for sid, r in responses.get(task.id, {}).items() if r.text is not None}
        vs = task.judge(p.samples[task.id], answered, ctx)
        judge_ids = {kind: judges.get(kind).id for kind in task.judge_kinds if kind != "rule" and judges.get(kind)}
        results[task.id] = task_result(task, vs, compat, judge_ids)
        verdicts[task.id] = vs
    return results, verdicts


def write_run(
    out_dir: Path,
    p: Plan,
    doc: dict[str, Any],
    responses: dict[str, dict[str, Response]],
    verdicts: dict[str, list[Verdict]],
) -> None:
    """results.json, items.jsonl (prompt, response, verdict per item) and TrustLLM-layout responses."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, dict[int, dict[str, Any]]] = {}
    lines = []
    for task in p.tasks:
        vmap = {v.sample_id: v for v in verdicts.get(task.id, [])}
        for s in p.samples[task.id]:
            r = responses.get(task.id, {}).get(s.id)
            v = vmap.get(s.id)
            lines.append({
                "task": task.id, "id": s.id, "prompt": s.prompt,
                "response": None if r is None else r.text, "error": None if r is None else r.error,
                "verdict": None if v is None else v.values, "judge": None if v is None else v.judge,
                "groups": None if v is None else v.groups,
            })
            if task.source == "trustllm":  # the original toolkit's layout, re-scorable with `trustbench score`
                by_file.setdefault(task.file, {})[s.index] = {**s.record, "res": None if r is None else r.text}
    tmp = out_dir / ".items.jsonl.tmp"
    with tmp.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    tmp.replace(out_dir / "items.jsonl")
    for rel, recs in by_file.items():
        write_json_atomic(out_dir / "responses" / rel, [recs[i] for i in sorted(recs)], indent=None)
    doc["scores"] = scores_object(doc)  # derived from the tasks; readers of results.json need not recompute it
    write_json_atomic(out_dir / "results.json", doc)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def evaluate(
    tasks: Sequence[Task],
    data: DataDir,
    out_dir: Path,
    store: Store,
    judges: JudgeSet,
    compat: bool,
    limit: int | None = None,
    backend_factory: Callable[[], ModelBackend] | None = None,
    model_spec: str = "",
    show_progress: bool = True,
) -> dict[str, Any]:
    """`trustbench run`: the whole pipeline for one model."""
    started = now()
    t0 = time.perf_counter()
    p = plan(tasks, data, limit)
    backend = backend_factory() if backend_factory else None
    if backend is None:
        raise TrustbenchError("No model backend given")
    try:
        responses, gen = generate(p, backend, store, show_progress)
    finally:
        backend.close()
    results, verdicts = score(p, responses, judges, compat)
    data_info = {"root": str(data.root), "files": {k: v for t in tasks for k, v in t.data_files(data).items()}}
    doc = base_document({"spec": model_spec, "id": backend.id}, compat, data_info)
    doc.update(started=started, finished=now(), wall_seconds=round(time.perf_counter() - t0, 2), limit=limit,
               generation=gen | {"tokens_per_second": round(gen["tokens"] / gen["seconds"], 1) if gen["seconds"] else None},
               judges={k: v for k, v in judges.specs.items()})
    doc["tasks"] = results
    if compat:
        doc["trustllm"] = trustllm_object(p.tasks, results)
    if judges.second:
        doc["judge_agreement"] = judges.agreements()
    write_run(out_dir, p, doc, responses, verdicts)
    return doc


def score_responses(
    tasks: Sequence[Task], responses_dir: Path, out_dir: Path, judges: JudgeSet, compat: bool
) -> dict[str, Any]:
    """`trustbench score`: judge responses produced elsewhere, in the original toolkit's layout."""
    started = now()
    chosen = [t for t in tasks if (responses_dir / t.file).is_file()]
    if not chosen:
        raise TrustbenchError(
            f"No response files found under {responses_dir}: expected <section>/<file>.json such as ethics/implicit_ETHICS.json"
        )
    p = Plan(chosen)
    responses: dict[str, dict[str, Response]] = {}
    for task in chosen:
        path = responses_dir / task.file
        records = load_records(path, {**task.fields})
        for i, rec in enumerate(records):
            if "res" not in rec:
                raise TrustbenchError(f"{path}, record {i}: missing field 'res' (the model's response)")
            if rec["res"] is not None and not isinstance(rec["res"], str):
                raise TrustbenchError(f"{path}, record {i}: field 'res' should be a string or null")
        p.samples[task.id] = task.samples(records)
        responses[task.id] = {
            s.id: Response(text=s.record["res"], error=None if s.record["res"] is not None else "no response")
            for s in p.samples[task.id]
        }
    p.tasks = [t for t in chosen if p.samples[t.id]]  # a file may hold only another task's records
    results, verdicts = score(p, responses, judges, compat)
    doc = base_document({"spec": f"responses:{responses_dir}", "id": f"external:{responses_dir.name}"}, compat,
                        {"root": str(responses_dir), "files": {}})
    doc.update(started=started, finished=now(), judges={k: v for k, v in judges.specs.items()})
    doc["tasks"] = results
    if compat:
        doc["trustllm"] = trustllm_object(p.tasks, results)
    if judges.second:
        doc["judge_agreement"] = judges.agreements()
    write_run(out_dir, p, doc, responses, verdicts)
    return doc
