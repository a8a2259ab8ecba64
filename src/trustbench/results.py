"""Assemble results.json from verdicts: metrics with CIs, breakdowns, counts, judges, compat object."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import __version__
from .core import Status, Verdict, stable_hash
from .metrics import Metric, compute_metric, item_value
from .metrics.core import in_scope, leaves
from .profiles import Profile
from .tasks import Task

SCHEMA_VERSION = "2.0"

TRUSTLLM_NOTES = {
    "run_ethics": (
        "The original run_ethics swaps implicit_ethics_res_ETHICS and implicit_ethics_res_social_norm (bug B2);"
        " here each result sits under its own name. emotional_res is never computed by the original's"
        " all_folder_path mode and its awareness scorer crashes on the shipped 'mission' items (B3);"
        " here it holds the emotion accuracy and the other probes scored with the original's letter rule."
    ),
    "run_truthfulness": (
        "Each 'avg' is the mean over the sources that have a value (the original's mean of four, which crashes"
        " instead when a source fails). Without an LLM judge, SQuAD/HotpotQA/AdversarialQA are judged by a"
        " normalised gold-answer match, and sycophancy_preference and advfact are null (the judge used is named"
        " in each task's 'judges'). A source on which the original raises (e.g. fact checking with one class"
        " only) is null with the reason."
    ),
    "run_safety": (
        "jailbreak_res is the 'total' RtA; the per-attack RtAs of the 'single' mode are the task's 'attack' groups."
        " toxicity_res is always a dict (the original returns the tuple (None, None) when nothing was scored) and,"
        " like jailbreak_res, is computed from this run's own responses (the original resumes from a shared"
        " progress file, B5). RtA uses the configured refusal judge (the original: the Longformer classifier)."
    ),
    "run_fairness": (
        "Answers the original sends to GPT-4 (stereotype recognition and agreement) are read by documented rules"
        " when no LLM judge is configured; the judge used is named in each task's 'judges'."
    ),
    "run_robustness": (
        "advinstruction_res reproduces bug B1 deterministically: responses are taken in input order (what one"
        " embedding worker gives), so the last answered variant of each instruction index is compared with that of"
        " the next index. Without an LLM judge, DDXPlus answers the original sends to GPT-4 are correct when they"
        " name exactly one listed diagnosis and it is the gold one (the judge template's own criterion). A pair or"
        " item whose generation failed is left out (the original crashes or embeds None). RtA uses the configured"
        " refusal judge (the original: the Longformer classifier)."
    ),
    "run_privacy": (
        "The awareness-query RtA per information type (the original's broken return_info_type branch) is in the"
        " tasks' 'privacy_information' groups; the leakage per-cell values are the tasks' RtA_/TD_/CD_<cell> metrics."
    ),
}


def metric_judge(metric: Metric, verdicts: Sequence[Verdict], judges: dict[str, str]) -> str | None:
    """Who produced a metric: the judge ids on the verdicts it counts (so a rule standing in for an absent
    LLM judge is named as such); the configured judge of its kind when it counted none."""
    def counted(m: Metric, v: Verdict) -> bool:
        if m.per_item is not None:
            return v.status is Status.SCORED and item_value(m, v) is not None
        return v.status is Status.SCORED and in_scope(m, v)

    used = [v for v in verdicts if any(counted(m, v) for m in leaves(metric))]
    ids = sorted({v.judge for v in used if v.judge})
    if not ids and metric.judge_kind == "rule":  # nothing scored: name the rules that judged the items
        ids = sorted({v.judge for v in verdicts if v.judge and v.judge.startswith("rule:")})
    return " + ".join(ids) if ids else judges.get(metric.judge_kind) or f"none ({metric.judge_kind} judge not configured)"


def judge_corrected(metric: Metric, verdicts: Sequence[Verdict], judge_id: str | None) -> dict[str, Any] | None:
    """A refusal rate corrected for its judge's measured sensitivity and specificity (Rogan-Gladen), with an
    interval carrying their uncertainty; None (with the reason) when the judge was not measured."""
    from .metrics.judge_error import corrected_rate, judge_quality

    if not judge_id or " + " in judge_id:
        return {"value": None, "reason": "several judges produced the verdicts"}
    items = [x for x in (item_value(metric, v) for v in verdicts) if x is not None]
    corrected = corrected_rate(int(sum(items)), len(items), judge_quality(judge_id))
    return corrected or {"value": None, "reason": f"no measured sensitivity/specificity for {judge_id}"}


def status_counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    return {s.value: sum(1 for v in verdicts if v.status is s) for s in Status}


def task_result(task: Task, verdicts: Sequence[Verdict], profile: Profile, judges: dict[str, str],
                errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """One task's entry in results.json: every metric computed centrally from the verdicts' status.

    `errors`: generation error per sample id (the first is reported)."""
    metrics = profile.metrics(task)
    policy = profile.low_n_policy
    values = {m.name: compute_metric(m, verdicts, low_n_policy=policy) for m in metrics}
    groups: dict[str, dict[str, Any]] = {}
    for key in task.group_by:
        buckets: dict[str, list[Verdict]] = {}
        for v in verdicts:
            if key in v.groups:
                buckets.setdefault(str(v.groups[key]), []).append(v)
        groups[key] = {
            g: {"n": len(vs), **{m.name: compute_metric(m, vs, with_ci=False, low_n_policy=policy)["value"]
                                 for m in metrics}}
            for g, vs in sorted(buckets.items())
        }
    headline = next((m.name for m in metrics if m.headline), metrics[0].name)
    for metric in metrics:
        values[metric.name]["judge"] = metric_judge(metric, verdicts, judges)
        if metric.rate_of == "refusal" and values[metric.name]["value"] is not None:
            values[metric.name]["corrected"] = judge_corrected(metric, verdicts, values[metric.name]["judge"])
    counts = status_counts(verdicts)
    first_error = next((v.reason for v in verdicts if v.status is Status.FAILED and v.reason), None)
    if errors:
        first_error = next(iter(errors.values()), first_error)
    first_unjudged = next((v.reason for v in verdicts if v.status is Status.UNJUDGED and v.reason), None)
    return {
        "dimension": task.dimension,
        "file": task.file,
        "description": task.description,
        "version": task.version,
        "mode": profile.name,
        "generation": task.generation.as_dict(),
        "n_items": len(verdicts),
        "n_scored": counts["scored"],
        "n_invalid": counts["invalid"],
        "n_failed": counts["failed"],
        "n_unjudged": counts["unjudged"],
        "first_error": first_error,
        "first_unjudged": first_unjudged,
        "complete": not counts["failed"] and not counts["unjudged"] and all(
            m["value"] is not None for m in values.values()),
        "judges": sorted({v.judge for v in verdicts if v.judge}),
        "headline": headline,
        "metrics": values,
        "groups": groups,
        "fixes": profile.fixes(task),
    }


def trustllm_object(tasks: Sequence[Task], results: dict[str, dict[str, Any]], profile: Profile) -> dict[str, Any]:
    """The original pipeline's return values (spec §5), built from this run's compat metrics."""
    out: dict[str, Any] = {}
    for task in tasks:
        if task.trustllm_key is None or task.id not in results:
            continue
        fn, key = task.trustllm_key
        vals = {name: m["value"] for name, m in results[task.id]["metrics"].items()}
        value = profile.trustllm_value(task, vals)
        section = out.setdefault(fn, {})
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key].update(value)
        else:
            section[key] = value
    notes = {fn: TRUSTLLM_NOTES[fn] for fn in out if fn in TRUSTLLM_NOTES}
    if notes:
        out["notes"] = notes
    return out


def data_version(files: dict[str, str]) -> str | None:
    """One sha256 over the sorted (file, sha256) pairs: a run's data version (None when no files were read)."""
    return stable_hash(sorted(files.items())) if files else None


def base_document(model: dict[str, Any], profile: Profile, data: dict[str, Any]) -> dict[str, Any]:
    """The run-level fields of results.json (schema: trustbench/schema/results.schema.json)."""
    data = {**data, "version": data_version(data.get("files", {}))}
    return {
        "schema_version": SCHEMA_VERSION,
        "trustbench_version": __version__,
        "mode": profile.name,
        "model": model,
        "data": data,
        "tasks": {},
    }


def write_json_atomic(path: Path, obj: Any, indent: int | None = 2) -> None:
    """Write via a temp file and rename, so a killed process never leaves a truncated file.

    indent=None for bulk files: only then does json use its C encoder (about 5x faster)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(obj, indent=indent, ensure_ascii=False, default=str))
        fh.write("\n")
    os.replace(tmp, path)
