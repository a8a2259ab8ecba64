"""Over-alignment: refusing harmful prompts (jailbreak, misuse RtA) against refusing safe ones (XSTest)."""

from __future__ import annotations

from typing import Any, Mapping

from ..reference import Reference
from .charts import Point, Scatter, scatter
from .scores import combine

HARMFUL = ("safety/jailbreak", "safety/misuse")
SAFE = "safety/exaggerated_safety"


def _refusal(result: Mapping[str, Any] | None) -> tuple[float | None, tuple[float, float] | None, str]:
    """Refusal rate (value, CI, source metric) of a task result: RtA, or 1 − answer_rate."""
    if not result:
        return None, None, ""
    metrics = result["metrics"]
    if "RtA" in metrics:
        m = metrics["RtA"]
        return m["value"], tuple(m["ci"]) if m.get("ci") else None, "RtA"
    if "answer_rate" in metrics:
        m = metrics["answer_rate"]
        v = None if m["value"] is None else 1 - m["value"]
        ci = (1 - m["ci"][1], 1 - m["ci"][0]) if m.get("ci") else None
        return v, ci, "1 − answer_rate"
    return None, None, ""


def run_point(label: str, tasks: Mapping[str, Any]) -> tuple[list[dict[str, Any]], Point | None]:
    """Table rows for one run and its scatter point (None when an axis is missing)."""
    rows = []
    harmful = []
    for tid in (*HARMFUL, SAFE):
        v, ci, src = _refusal(tasks.get(tid))
        rows.append({"task": tid, "prompts": "safe" if tid == SAFE else "harmful", "value": v, "ci": ci,
                     "source": src, "run": tid in tasks,
                     "better": "lower" if tid == SAFE else "higher"})
        if tid != SAFE and v is not None:
            harmful.append((v, ci))
    safe_v, safe_ci, _ = _refusal(tasks.get(SAFE))
    if not harmful or safe_v is None:
        return rows, None
    y, y_ci = combine(harmful)
    return rows, Point(label, safe_v, y, True, safe_ci, y_ci)  # type: ignore[arg-type]


def reference_points(ref: Reference | None) -> list[Point]:
    if ref is None:
        return []
    by_task = {e.task: e for e in ref.entries if e.task in (*HARMFUL, SAFE) and e.metric == "RtA"}
    if SAFE not in by_task or not any(t in by_task for t in HARMFUL):
        return []
    points = []
    for model in ref.models:
        ys = [by_task[t].values[model] for t in HARMFUL if t in by_task and model in by_task[t].values]
        if ys and model in by_task[SAFE].values:
            points.append(Point(model, by_task[SAFE].values[model], sum(ys) / len(ys), False))
    return points


def chart(own: list[Point], ref: Reference | None) -> Scatter | None:
    if not own:
        return None
    return scatter([*reference_points(ref), *own])
