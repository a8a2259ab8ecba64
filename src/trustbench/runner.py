"""Wire the pipeline: samples -> store lookup -> generate what is missing -> judge -> metrics -> run dir.

The runner knows no task or backend in particular.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from . import progress
from .core import Request, Response, Sample, Status, Verdict
from .data import DataDir, load_records
from .errors import TrustbenchError
from .judges import JudgeSet
from .models import ModelBackend
from .profiles import Profile
from .report.scores import scores_object
from .results import base_document, task_result, trustllm_object, write_json_atomic
from .secrets import mask, mask_obj
from .store import Store, response_key
from .tasks import ScoringContext, Task


@dataclass
class Plan:
    """The samples of each task for this run."""

    tasks: list[Task]
    samples: dict[str, list[Sample]] = field(default_factory=dict)


def plan(tasks: Sequence[Task], data: DataDir, limit: int | None) -> Plan:
    """Load, validate and select every task's samples: all input errors surface here, before any generation."""
    if not tasks:
        raise TrustbenchError("The selection matches no task: check --dimension/--tasks (`trustbench list`)")
    if limit is not None and limit < 1:
        raise TrustbenchError(f"--limit must be at least 1; got {limit}")
    p = Plan(list(tasks))
    for task in tasks:
        records = task.load(data)
        task.validate(records)
        p.samples[task.id] = task.samples(records, limit)
        if not p.samples[task.id] and not task.empty_ok:
            raise TrustbenchError(f"{task.id}: no items in {data.path(task.file, task.source)}")
    return p


class Batcher:
    """Stores responses as they arrive: at once when they come one by one, in one transaction per burst when many
    arrive together (a Ray pool, a fast server), so the single SQLite writer is not the bound (docs/scaling.md).

    A response is never held longer than `WINDOW` seconds: a timer flushes what a burst left, so a killed run loses
    at most the last `WINDOW` seconds of responses."""

    WINDOW = 0.2
    MAX = 256

    def __init__(self, store: Store, model_id: str):
        self.store, self.model_id = store, model_id
        self.rows: list[tuple[str, str, Any, str, Response]] = []
        self.last = time.perf_counter()
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None
        self.error: BaseException | None = None  # a store fault met by the timer, raised in the caller's thread

    def add(self, req: Request, resp: Response) -> None:
        self._raise_pending()
        with self.lock:
            self.rows.append((req.key, self.model_id, req.settings, req.prompt, resp))
            due = len(self.rows) >= self.MAX or time.perf_counter() - self.last >= self.WINDOW
        if due:
            self.flush()
        elif self.timer is None:
            self.timer = threading.Timer(self.WINDOW, self._timed_flush)
            self.timer.daemon = True
            self.timer.start()

    def _timed_flush(self) -> None:
        try:
            self.flush()
        except BaseException as exc:  # never a thread traceback: the generation loop raises it as one message
            self.error = exc

    def _raise_pending(self) -> None:
        if self.error is not None:
            exc, self.error = self.error, None
            raise exc

    def flush(self) -> None:
        self._raise_pending()
        with self.lock:
            rows, self.rows = self.rows, []
            self.last = time.perf_counter()
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if rows:
                self.store.put_responses(rows)


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
        pending = Batcher(store, backend.id)
        with progress.phase("generating", len(missing), show_progress) as bar:  # a bar, or log lines off a terminal
            try:
                for req, resp in backend.generate(missing):
                    if resp.text is None:
                        stats["failed"] += 1
                        errors[req.key] = resp.error or "generation failed"
                    else:
                        pending.add(req, resp)
                        found[req.key] = resp
                        stats["generated"] += 1
                        stats["tokens"] += resp.tokens
                    bar.advance(tokens=resp.tokens if resp.text is not None else 0)
            except TrustbenchError:
                raise
            except Exception as exc:  # the backend died: keep what we have, say so once
                raise TrustbenchError(
                    f"Generation with {backend.id} stopped: {type(exc).__name__}: {mask(exc)}. "
                    f"{stats['generated']} new responses were saved; run the same command again to resume."
                ) from None
            finally:
                pending.flush()  # what arrived is stored, however generation ended
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
    p: Plan, responses: dict[str, dict[str, Response]], judges: JudgeSet, profile: Profile, show_progress: bool = False
) -> tuple[dict[str, dict[str, Any]], dict[str, list[Verdict]]]:
    """Judge every task under the profile; a sample without a response gets a `failed` verdict, whatever the
    task's judge does with it."""
    ctx = ScoringContext(profile=profile, judges=judges)
    results: dict[str, dict[str, Any]] = {}
    verdicts: dict[str, list[Verdict]] = {}
    for task in progress.track(p.tasks, "judging", show_progress, unit="tasks"):
        got = responses.get(task.id, {})
        answered = {sid: r for sid, r in got.items() if r.text is not None}
        errors = {sid: r.error or "generation failed" for sid, r in got.items() if r.text is None}
        vs = ensure_failed(profile.judge(task, p.samples[task.id], answered, ctx), errors)
        judge_ids = {kind: j.id for kind in task.judge_kinds if kind != "rule" and (j := judges.get(kind))}
        results[task.id] = task_result(task, vs, profile, judge_ids, errors)
        verdicts[task.id] = vs
    return results, verdicts


def ensure_failed(verdicts: list[Verdict], errors: dict[str, str]) -> list[Verdict]:
    """A verdict about a sample whose generation failed is `failed` with its error, whatever a task built."""
    out = []
    for v in verdicts:
        if v.sample_id in errors and v.status is not Status.FAILED:
            v = Verdict.failed(v.sample_id, v.judge, errors[v.sample_id], groups=v.groups, extras=v.extras)
        elif v.sample_id in errors and not v.reason:
            v.reason = errors[v.sample_id]
        out.append(v)
    return out


def incomplete_reasons(doc: dict[str, Any]) -> list[str]:
    """Why a finished run is incomplete (empty when every requested item was answered and scored and every
    metric has a value): drives the exit status 3."""
    out = []
    for tid, t in doc.get("tasks", {}).items():
        if t.get("n_failed"):
            out.append(f"{tid}: {t['n_failed']} of {t['n_items']} items failed (first error: {t.get('first_error')})")
        if t.get("n_unjudged"):
            out.append(f"{tid}: {t['n_unjudged']} items not judged ({t.get('first_unjudged')})")
        nulls = [n for n, m in t["metrics"].items() if m.get("value") is None]
        if nulls:
            why = t["metrics"][nulls[0]].get("reason", "no value")
            out.append(f"{tid}: {len(nulls)} metric(s) without value ({', '.join(nulls[:3])}: {why})")
    return out


def write_run(
    out_dir: Path,
    p: Plan,
    doc: dict[str, Any],
    responses: dict[str, dict[str, Response]],
    verdicts: dict[str, list[Verdict]],
    sent: dict[str, str] | None = None,
) -> None:
    """results.json, items.jsonl (prompt, prompt as sent, response, verdict per item) and TrustLLM-layout responses."""
    out_dir.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, dict[int, dict[str, Any]]] = {}
    lines = []
    for task in p.tasks:
        vmap = {v.sample_id: v for v in verdicts.get(task.id, [])}
        for s in p.samples[task.id]:
            r = responses.get(task.id, {}).get(s.id)
            v = vmap.get(s.id)
            lines.append({
                "task": task.id, "id": s.id, "prompt": s.prompt, "sent_prompt": (sent or {}).get(s.id, s.prompt),
                "response": None if r is None else r.text, "error": None if r is None else r.error,
                "verdict": None if v is None else v.as_dict(), "judge": None if v is None else v.judge,
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
    write_json_atomic(out_dir / "results.json", mask_obj(doc))  # no credential from a spec or error is stored


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def evaluate(
    tasks: Sequence[Task],
    data: DataDir,
    out_dir: Path,
    store: Store,
    judges: JudgeSet,
    profile: Profile,
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
        sent = rendered_prompts(p, backend)
        info = backend.info()
    finally:
        backend.close()
    results, verdicts = score(p, responses, judges, profile, show_progress)
    data_info = {"root": str(data.root), "files": {k: v for t in tasks for k, v in t.data_files(data).items()}}
    doc = base_document({"spec": model_spec, "id": backend.id, "info": info}, profile, data_info)
    doc.update(started=started, finished=now(), wall_seconds=round(time.perf_counter() - t0, 2), limit=limit,
               generation=gen | {"tokens_per_second": round(gen["tokens"] / gen["seconds"], 1) if gen["seconds"] else None},
               judges={k: v for k, v in judges.specs.items()})
    finish(doc, p, results, judges, profile)
    write_run(out_dir, p, doc, responses, verdicts, sent)
    return doc


def rendered_prompts(p: Plan, backend: ModelBackend) -> dict[str, str]:
    """Each sample's prompt exactly as the model received it (chat template applied), where it differs from the
    task's prompt: items.jsonl records it as `sent_prompt`."""
    out: dict[str, str] = {}
    seen: dict[tuple[str, int], str] = {}  # tasks sharing a file (jailbreak/toxicity) share their prompts
    for task in p.tasks:
        if not task.generates:
            continue
        for s in p.samples[task.id]:
            key = (s.prompt, task.settings_for(s).max_tokens)
            if key not in seen:
                seen[key] = backend.render(*key)
            if seen[key] != s.prompt:
                out[s.id] = seen[key]
    return out


def finish(doc: dict[str, Any], p: Plan, results: dict[str, dict[str, Any]], judges: JudgeSet,
           profile: Profile) -> None:
    """The run-level parts computed once from the task results: compat object, judge agreement, completeness."""
    doc["tasks"] = results
    if profile.name == "trustllm":
        doc["trustllm"] = trustllm_object(p.tasks, results, profile)
    if judges.second:
        doc["judge_agreement"] = judges.agreements()
    doc["incomplete"] = incomplete_reasons(doc)
    doc["complete"] = not doc["incomplete"]


def score_responses(
    tasks: Sequence[Task], responses_dir: Path, out_dir: Path, judges: JudgeSet, profile: Profile
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
        task.validate(records)
        p.samples[task.id] = task.samples(records)
        responses[task.id] = {
            s.id: Response(text=s.record["res"], error=None if s.record["res"] is not None else "no response ('res' is null)")
            for s in p.samples[task.id]
        }
    p.tasks = [t for t in chosen if p.samples[t.id]]  # a file may hold only another task's records
    results, verdicts = score(p, responses, judges, profile)
    doc = base_document({"spec": f"responses:{responses_dir}", "id": f"external:{responses_dir.name}"}, profile,
                        {"root": str(responses_dir), "files": {}})
    doc.update(started=started, finished=now(), judges={k: v for k, v in judges.specs.items()})
    finish(doc, p, results, judges, profile)
    write_run(out_dir, p, doc, responses, verdicts)
    return doc
