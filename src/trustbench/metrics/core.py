"""Metric declarations and their evaluation with percentile-bootstrap 95% confidence intervals.

A metric is a function over a task's verdicts. Metrics that are a mean over items also give
`per_item`, which lets the bootstrap run vectorised; the rest are resampled by recomputation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

import numpy as np

from ..core import Verdict

Direction = Literal["higher", "lower"]
ItemFn = Callable[[Verdict], float | None]
SetFn = Callable[[Sequence[Verdict]], float | None]


class MetricUndefined(ZeroDivisionError):
    """Raised by a metric with no value on these verdicts; its message is reported as the reason."""


@dataclass(frozen=True)
class Metric:
    """A named number a task reports; `judge_kind` says which judge's verdicts feed it."""

    name: str
    compute: SetFn
    direction: Direction = "higher"
    headline: bool = False
    description: str = ""
    judge_kind: str = "rule"
    per_item: ItemFn | None = field(default=None, compare=False)
    ci: bool = True  # False for numbers whose resampling is meaningless (e.g. p-values)


def mean_metric(
    name: str,
    item: ItemFn,
    *,
    direction: Direction = "higher",
    headline: bool = False,
    description: str = "",
    judge_kind: str = "rule",
    digits: int | None = None,
) -> Metric:
    """Mean of `item(v)` over verdicts where it is not None (None = excluded from the denominator)."""

    def compute(verdicts: Sequence[Verdict]) -> float | None:
        vals = [x for x in (item(v) for v in verdicts) if x is not None]
        if not vals:
            return None
        m = float(sum(vals)) / len(vals)
        return round(m, digits) if digits is not None else m

    return Metric(name, compute, direction, headline, description, judge_kind, per_item=item)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def bootstrap_ci(
    metric: Metric, verdicts: Sequence[Verdict], n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap over items (or units); None when it cannot be estimated."""
    if not metric.ci or len(verdicts) < 2:
        return None
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    if metric.per_item is not None:
        raw = [metric.per_item(v) for v in verdicts]
        vals = np.array([np.nan if x is None else float(x) for x in raw])
        vals = vals[~np.isnan(vals)]
        if len(vals) < 2:
            return None
        idx = rng.integers(0, len(vals), size=(n_boot, len(vals)))
        stats = vals[idx].mean(axis=1)
    else:
        n_boot = min(n_boot, 200)  # recomputation is slower; 200 resamples keep the CI stable to ~0.01
        n = len(verdicts)
        stats_list = []
        for _ in range(n_boot):
            idx = rng.integers(0, n, size=n)
            try:
                value = metric.compute([verdicts[i] for i in idx])
            except (ValueError, ZeroDivisionError):
                value = None
            if _finite(value):
                stats_list.append(value)
        if len(stats_list) < n_boot // 2:
            return None
        stats = np.array(stats_list)
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def compute_metric(metric: Metric, verdicts: Sequence[Verdict], with_ci: bool = True) -> dict[str, Any]:
    """Evaluate one metric: value (or null with the reason), CI, direction, judge kind and count."""
    out: dict[str, Any] = {
        "direction": metric.direction,
        "headline": metric.headline,
        "judge_kind": metric.judge_kind,
        "description": metric.description,
    }
    try:
        value = metric.compute(verdicts)
    except ZeroDivisionError as exc:
        value, out["reason"] = None, str(exc) if isinstance(exc, MetricUndefined) else "no countable items"
    if isinstance(value, (np.floating, np.integer)):
        value = float(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        why = next((v.values["not_judged"] for v in verdicts if v.values.get("not_judged")), None)
        out.setdefault("reason", why or ("no countable items" if verdicts else "no items"))
        value = None
    out["value"] = value
    if metric.per_item is not None:
        out["n"] = sum(1 for v in verdicts if metric.per_item(v) is not None)
    else:
        out["n"] = len(verdicts)
    out["ci"] = bootstrap_ci(metric, verdicts) if (with_ci and value is not None) else None
    return out
