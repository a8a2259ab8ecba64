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
    # For means: the value from the non-None per-item values, so one pass serves value, n and CI.
    reduce: Callable[[list[float]], float | None] | None = field(default=None, compare=False)
    # For composites of per-item parts (e.g. a mean of per-class accuracies): `combine(part values)`
    # lets the bootstrap resample all parts at once, vectorised, instead of recomputing on every draw.
    parts: tuple["Metric", ...] = field(default=(), compare=False)
    combine: Callable[[list[float | None]], float | None] | None = field(default=None, compare=False)


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

    def reduce(vals: list[float]) -> float | None:
        if not vals:
            return None
        m = float(sum(vals)) / len(vals)
        return round(m, digits) if digits is not None else m

    def compute(verdicts: Sequence[Verdict]) -> float | None:
        return reduce([x for x in map(item, verdicts) if x is not None])

    return Metric(name, compute, direction, headline, description, judge_kind, per_item=item, reduce=reduce)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def bootstrap_ci(
    metric: Metric,
    verdicts: Sequence[Verdict],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    item_values: list[float] | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap over items (or units); None when it cannot be estimated.

    `item_values`: the metric's non-None per-item values when the caller already has them.
    """
    if not metric.ci or len(verdicts) < 2:
        return None
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    if metric.per_item is not None:
        if item_values is None:
            item_values = [x for x in map(metric.per_item, verdicts) if x is not None]
        vals = np.asarray(item_values, dtype=float)
        vals = vals[~np.isnan(vals)]
        if len(vals) < 2:
            return None
        idx = rng.integers(0, len(vals), size=(n_boot, len(vals)))
        stats = vals[idx].mean(axis=1)
    elif metric.combine is not None and metric.parts and all(p.per_item for p in metric.parts):
        idx = rng.integers(0, len(verdicts), size=(n_boot, len(verdicts)))
        columns = []
        for part in metric.parts:
            arr = np.array([np.nan if (x := part.per_item(v)) is None else float(x) for v in verdicts])[idx]
            counted = (~np.isnan(arr)).sum(axis=1)
            sums = np.nansum(arr, axis=1)
            columns.append(np.where(counted > 0, sums / np.maximum(counted, 1), np.nan))
        drawn = [metric.combine([None if math.isnan(x) else float(x) for x in row]) for row in zip(*columns)]
        stats = np.array([x for x in drawn if _finite(x)])
        if len(stats) < n_boot // 2:
            return None
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
    items = [x for x in map(metric.per_item, verdicts) if x is not None] if metric.per_item else None
    try:
        value = metric.reduce(items) if (metric.reduce and items is not None) else metric.compute(verdicts)
    except ZeroDivisionError as exc:
        value, out["reason"] = None, str(exc) if isinstance(exc, MetricUndefined) else "no countable items"
    if isinstance(value, (np.floating, np.integer)):
        value = float(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        why = next((v.values["not_judged"] for v in verdicts if v.values.get("not_judged")), None)
        out.setdefault("reason", why or ("no countable items" if verdicts else "no items"))
        value = None
    out["value"] = value
    out["n"] = len(items) if items is not None else len(verdicts)
    out["ci"] = bootstrap_ci(metric, verdicts, item_values=items) if (with_ci and value is not None) else None
    return out
