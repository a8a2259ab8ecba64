"""Test helpers: score hand-built responses through a task exactly as the runner does."""

from __future__ import annotations

from typing import Any, Sequence

from trustbench.core import Response, Sample
from trustbench.judges import JudgeSet
from trustbench.metrics import compute_metric
from trustbench.tasks import ScoringContext, registry


def make_samples(task_id: str, records: Sequence[dict[str, Any]]) -> list[Sample]:
    task = registry()[task_id]
    return [Sample(id=f"{task.file}#{i}", index=i, prompt=r.get("prompt", ""), record=r) for i, r in enumerate(records)]


def score(task_id: str, records: Sequence[dict[str, Any]], responses: Sequence[str | None], compat: bool,
          judges: JudgeSet | None = None) -> dict[str, float | None]:
    """Metric values for records paired with responses (None = failed generation)."""
    task = registry()[task_id]
    samples = make_samples(task_id, records)
    resp = {s.id: Response(text=t) for s, t in zip(samples, responses) if t is not None}
    verdicts = task.judge(samples, resp, ScoringContext(compat=compat, judges=judges or JudgeSet()))
    return {m.name: compute_metric(m, verdicts, with_ci=False)["value"] for m in task.metrics(compat)}
