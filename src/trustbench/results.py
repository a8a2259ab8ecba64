"""Assemble results.json from verdicts: metrics with CIs, breakdowns, counts, judges, compat object."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

from . import __version__
from .core import Verdict
from .metrics import compute_metric
from .tasks import Task

SCHEMA_VERSION = "1.0"

TRUSTLLM_NOTES = {
    "run_ethics": (
        "The original run_ethics swaps implicit_ethics_res_ETHICS and implicit_ethics_res_social_norm (bug B2);"
        " here each result sits under its own name. emotional_res is never computed by the original's"
        " all_folder_path mode and its awareness scorer crashes on the shipped 'mission' items (B3);"
        " here it holds the emotion accuracy and the other probes scored with the original's letter rule."
    ),
}


def task_result(task: Task, verdicts: Sequence[Verdict], compat: bool, judges: dict[str, str]) -> dict[str, Any]:
    metrics = task.metrics(compat)
    values = {m.name: compute_metric(m, verdicts) for m in metrics}
    groups: dict[str, dict[str, Any]] = {}
    for key in task.group_by:
        buckets: dict[str, list[Verdict]] = {}
        for v in verdicts:
            if key in v.groups:
                buckets.setdefault(str(v.groups[key]), []).append(v)
        groups[key] = {
            g: {"n": len(vs), **{m.name: compute_metric(m, vs, with_ci=False)["value"] for m in metrics}}
            for g, vs in sorted(buckets.items())
        }
    headline = next((m.name for m in metrics if m.headline), metrics[0].name)
    judge_ids = sorted({v.judge for v in verdicts})
    for name, m in values.items():
        kind = m["judge_kind"]
        m["judge"] = judges.get(kind) if kind != "rule" else next((j for j in judge_ids if j.startswith("rule:")), "rule")
    return {
        "dimension": task.dimension,
        "file": task.file,
        "description": task.description,
        "mode": "trustllm" if compat else "default",
        "generation": task.generation.as_dict(),
        "n_items": len(verdicts),
        "n_failed": sum(1 for v in verdicts if v.values.get("failed")),
        "n_invalid": sum(1 for v in verdicts if not v.valid and not v.values.get("failed")),
        "judges": judge_ids,
        "headline": headline,
        "metrics": values,
        "groups": groups,
        "fixes": [] if compat else list(task.fixes),
    }


def trustllm_object(tasks: Sequence[Task], results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The original pipeline's return values (spec §5), built from this run's compat metrics."""
    out: dict[str, Any] = {}
    for task in tasks:
        if task.trustllm_key is None or task.id not in results:
            continue
        fn, key = task.trustllm_key
        vals = {name: m["value"] for name, m in results[task.id]["metrics"].items()}
        value = task.trustllm_value(vals)
        section = out.setdefault(fn, {})
        if isinstance(value, dict) and isinstance(section.get(key), dict):
            section[key].update(value)
        else:
            section[key] = value
    notes = {fn: TRUSTLLM_NOTES[fn] for fn in out if fn in TRUSTLLM_NOTES}
    if notes:
        out["notes"] = notes
    return out


def base_document(model: dict[str, Any], compat: bool, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "trustbench_version": __version__,
        "mode": "trustllm" if compat else "default",
        "model": model,
        "data": data,
        "tasks": {},
    }


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write via a temp file and rename, so a killed process never leaves a truncated file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")
    os.replace(tmp, path)
