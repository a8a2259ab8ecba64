"""Pick the items a reader should look at first: the worst failures of each task's headline metric."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..core import Status, Verdict
from ..metrics import Metric, item_value

TEXT_LIMIT = 4000  # characters of prompt/response kept per item in a report (the run dir keeps everything)


def task_metric(task_id: str, metric_name: str, mode: str) -> Metric | None:
    """The registered metric behind a results.json entry, or None (task, metric or profile unknown to this install)."""
    from ..errors import TrustbenchError
    from ..profiles import get_profile
    from ..tasks import registry

    task = registry().get(task_id)
    if task is None:
        return None
    try:
        profile = get_profile(mode)
    except TrustbenchError:
        return None
    return next((m for m in profile.metrics(task) if m.name == metric_name), None)


def to_verdict(rec: Mapping[str, Any]) -> Verdict | None:
    """An items.jsonl record's verdict as the metrics see it (None for records of an older schema)."""
    v = rec.get("verdict")
    if not isinstance(v, Mapping) or v.get("status") not in {s.value for s in Status}:
        return None
    return Verdict.from_dict(rec["id"], v, rec.get("judge") or "", rec.get("groups") or {})


def item_outcome(rec: Mapping[str, Any], metric: Metric | None, direction: str) -> tuple[int, float, str]:
    """(severity class, oriented item score, status label); lower sorts first, i.e. worse."""
    v = to_verdict(rec)
    if rec.get("response") is None or (v is not None and v.status is Status.FAILED):
        return 0, 0.0, "generation failed"
    if v is None:
        return 4, 1.0, "not scored"
    if v.status is Status.UNJUDGED:
        return 1, 0.0, "not judged"
    if v.status is Status.INVALID:
        return 1, 0.0, "invalid"
    if metric is not None and metric.per_item is not None:
        try:
            x = item_value(metric, v)
        except (KeyError, TypeError, ValueError):
            x = None
        if x is not None:
            score = float(x) if direction == "higher" else 1.0 - float(x)
            return (2, score, "fail") if score < 0.5 else (3, score, "pass")
    if v.correct is False:
        return 2, 0.0, "fail"
    if v.correct is True:
        return 3, 1.0, "pass"
    return 4, 1.0, "not scored"


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= TEXT_LIMIT:
        return text
    return text[:TEXT_LIMIT] + f"… [{len(text) - TEXT_LIMIT} more characters in items.jsonl]"


def worst_items(task_id: str, result: Mapping[str, Any], items: Sequence[Mapping[str, Any]], mode: str,
                k: int) -> list[dict[str, Any]]:
    """Up to k items, worst first by the headline metric, as plain dicts for the report."""
    metric = result["metrics"][result["headline"]]
    metric_def = task_metric(task_id, result["headline"], mode)
    ranked = []
    for rec in items:
        severity, score, status = item_outcome(rec, metric_def, metric["direction"])
        ranked.append((severity, score, rec, status))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [
        {"task": task_id, "id": rec["id"], "status": status, "score": round(score, 3) if severity in (2, 3) else None,
         "prompt": _clip(rec.get("prompt")), "response": _clip(rec.get("response")), "error": rec.get("error"),
         "verdict": rec.get("verdict"), "judge": rec.get("judge"), "groups": rec.get("groups")}
        for severity, score, rec, status in ranked[:k]
    ]
