"""Test helpers: score hand-built responses through a task exactly as the runner does."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Sequence

from trustbench.core import Response, Sample, Verdict
from trustbench.judges import JudgeSet
from trustbench.metrics import compute_metric
from trustbench.profiles import Profile, get_profile
from trustbench.runner import ensure_failed
from trustbench.tasks import ScoringContext, registry


def make_samples(task_id: str, records: Sequence[dict[str, Any]]) -> list[Sample]:
    task = registry()[task_id]
    return [Sample(id=f"{task.file}#{i}", index=i, prompt=r.get("prompt", ""), record=r) for i, r in enumerate(records)]


def profile_for(compat: bool | str) -> Profile:
    """The scoring profile a test asks for: True/'trustllm' = the original's scorer, False/'default' = the fixed one."""
    if isinstance(compat, str):
        return get_profile(compat)
    return get_profile("trustllm" if compat else None)


def judge(task_id: str, samples: Sequence[Sample], responses: Sequence[str | None], compat: bool | str,
          judges: JudgeSet | None = None) -> list[Verdict]:
    """Verdicts exactly as the runner makes them (failed generations included)."""
    task = registry()[task_id]
    profile = profile_for(compat)
    resp = {s.id: Response(text=t) for s, t in zip(samples, responses) if t is not None}
    errors = {s.id: "generation failed" for s, t in zip(samples, responses) if t is None}
    ctx = ScoringContext(profile=profile, judges=judges or JudgeSet())
    return ensure_failed(profile.judge(task, samples, resp, ctx), errors)


def values_of(task_id: str, verdicts: Sequence[Verdict], compat: bool | str, low_n: bool = True) -> dict[str, Any]:
    """Metric values as results.json has them; with `low_n`, a value withheld for too few items is shown anyway
    (tests check the arithmetic on small hand-built sets; the withholding itself is tested in test_metrics)."""
    profile = profile_for(compat)
    out = {}
    for m in profile.metrics(registry()[task_id]):
        r = compute_metric(m, verdicts, with_ci=False, low_n_policy=profile.low_n_policy)
        out[m.name] = r.get("low_n_value", r["value"]) if low_n and r["value"] is None else r["value"]
    return out


def score(task_id: str, records: Sequence[dict[str, Any]], responses: Sequence[str | None], compat: bool | str,
          judges: JudgeSet | None = None) -> dict[str, float | None]:
    """Metric values for records paired with responses (None = failed generation)."""
    samples = make_samples(task_id, records)
    return values_of(task_id, judge(task_id, samples, responses, compat, judges), compat)


def stored_responses(home: Path) -> int:
    """Responses in the store under TRUSTBENCH_HOME=home (0 while it does not exist or is locked mid-write)."""
    db = home / "store.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
