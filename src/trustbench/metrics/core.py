"""Metric declarations and their central evaluation: which verdicts count, value, counts, interval.

Every metric is computed here and only here, from the verdicts' status:

* `failed` and `unjudged` verdicts never enter a value; they make the metric *partial* and are counted.
* `invalid` verdicts enter only where the metric says how (`on_invalid`, e.g. 0.0 = "counts as wrong");
  otherwise they are excluded and counted.
* a metric with no counted item is `null` with the reason.
* intervals are honest for their n: a mean of 0/1 items gets a Wilson score interval (valid at any n, never
  zero-width); anything else is bootstrapped only from `MIN_N` counted items up. Below that, default mode
  reports the metric as too few to estimate (null, with the value kept as `low_n_value`), compat mode
  keeps the value (the original reports it) but flags `low_n` and gives no interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Sequence

import numpy as np

from ..core import Status, Verdict

Direction = Literal["higher", "lower"]
ItemFn = Callable[[Verdict], float | None]
SetFn = Callable[[Sequence[Verdict]], float | None]
WhereFn = Callable[[Verdict], bool]

MIN_N = 10  # fewest counted items for a bootstrap interval or (default mode) a non-binary value
Z95 = 1.959963984540054


class MetricUndefined(ZeroDivisionError):
    """Raised by a metric with no value on these verdicts; its message is reported as the reason."""


@dataclass(frozen=True)
class Metric:
    """A named number a task reports; `judge_kind` says which judge's verdicts feed it.

    `where` restricts the metric to some verdicts (e.g. one gold class); `per_item` maps a scored verdict to
    its 0..1 (or any float) contribution, None = not counted; `on_invalid` is what an invalid verdict counts
    as (None = excluded). Set metrics give `compute`, called with the scored verdicts in scope only.
    """

    name: str
    compute: SetFn
    direction: Direction = "higher"
    headline: bool = False
    description: str = ""
    judge_kind: str = "rule"
    per_item: ItemFn | None = field(default=None, compare=False)
    ci: bool = True  # False for numbers whose resampling is meaningless (e.g. p-values, maxima)
    reduce: Callable[[list[float]], float | None] | None = field(default=None, compare=False)
    parts: tuple["Metric", ...] = field(default=(), compare=False)
    combine: Callable[[list[float | None]], float | None] | None = field(default=None, compare=False)
    where: WhereFn | None = field(default=None, compare=False)
    on_invalid: float | None = None
    binary: bool = False  # per-item values are 0/1: the Wilson interval applies
    rate_of: str | None = None  # "refusal": a rate of the refusal judge's label, corrected for its error in results


def in_scope(metric: Metric, v: Verdict) -> bool:
    return metric.where is None or metric.where(v)


def item_value(metric: Metric, v: Verdict) -> float | None:
    """A per-item metric's contribution of one verdict; None = not counted (the one rule, used everywhere)."""
    if not in_scope(metric, v):
        return None
    if v.status is Status.SCORED:
        return metric.per_item(v) if metric.per_item else None
    if v.status is Status.INVALID:
        return metric.on_invalid
    return None


def scored_in_scope(metric: Metric, verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status is Status.SCORED and in_scope(metric, v)]


def mean_metric(
    name: str,
    item: ItemFn,
    *,
    direction: Direction = "higher",
    headline: bool = False,
    description: str = "",
    judge_kind: str = "rule",
    digits: int | None = None,
    where: WhereFn | None = None,
    on_invalid: float | None = None,
    binary: bool = False,
    rate_of: str | None = None,
) -> Metric:
    """Mean of `item(v)` over the verdicts it counts (see `item_value`)."""

    def reduce(vals: list[float]) -> float | None:
        if not vals:
            return None
        m = float(sum(vals)) / len(vals)
        return round(m, digits) if digits is not None else m

    proto = Metric(name, lambda vs: None, per_item=item, where=where, on_invalid=on_invalid)

    def compute(verdicts: Sequence[Verdict]) -> float | None:
        return reduce([x for x in (item_value(proto, v) for v in verdicts) if x is not None])

    return Metric(name, compute, direction, headline, description, judge_kind, per_item=item, reduce=reduce,
                  where=where, on_invalid=on_invalid, binary=binary and digits is None, rate_of=rate_of)


def rate_metric(name: str, test: Callable[[Verdict], bool], **kw: Any) -> Metric:
    """Share of counted verdicts for which `test` holds (a 0/1 mean: Wilson interval)."""
    return mean_metric(name, lambda v: 1.0 if test(v) else 0.0, binary=True, **kw)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def wilson_ci(k: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials: honest at small n, never zero-width."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_ci(
    metric: Metric,
    verdicts: Sequence[Verdict],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    item_values: list[float] | None = None,
) -> tuple[float, float] | None:
    """Percentile bootstrap over items (or units); None when it cannot be estimated."""
    if not metric.ci or len(verdicts) < 2:
        return None
    rng = np.random.default_rng(seed)
    alpha = (1 - level) / 2
    if metric.per_item is not None:
        if item_values is None:
            item_values = [x for x in (item_value(metric, v) for v in verdicts) if x is not None]
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
            arr = np.array([np.nan if (x := item_value(part, v)) is None else float(x) for v in verdicts])[idx]
            counted = (~np.isnan(arr)).sum(axis=1)
            sums = np.nansum(arr, axis=1)
            columns.append(np.where(counted > 0, sums / np.maximum(counted, 1), np.nan))
        drawn = [metric.combine([None if math.isnan(x) else float(x) for x in row]) for row in zip(*columns)]
        stats = np.array([x for x in drawn if _finite(x)])
        if len(stats) < n_boot // 2:
            return None
    else:
        n_boot = min(n_boot, 200)  # recomputation is slower; 200 resamples keep the CI stable to ~0.01
        pool = list(verdicts) if metric.parts else scored_in_scope(metric, verdicts)  # parts filter themselves
        n = len(pool)
        stats_list = []
        for _ in range(n_boot):
            idx = rng.integers(0, n, size=n)
            try:
                value = metric.compute([pool[i] for i in idx])
            except (ValueError, ZeroDivisionError):
                value = None
            if _finite(value):
                stats_list.append(value)
        if len(stats_list) < n_boot // 2:
            return None
        stats = np.array(stats_list)
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


def leaves(metric: Metric) -> tuple[Metric, ...]:
    """The per-item metrics a composite is built from, however deeply nested (itself for a plain metric)."""
    if not metric.parts:
        return (metric,)
    return tuple(leaf for p in metric.parts for leaf in leaves(p))


def _degenerate(metric: Metric, verdicts: Sequence[Verdict],
                ci: tuple[float, float]) -> tuple[tuple[float, float] | None, str | None]:
    """A bootstrap that drew the same value every time (every counted item alike, e.g. all wrong) says nothing
    about the uncertainty: a composite of 0/1 parts then gets the Wilson interval of its pooled items, anything
    else no interval (never a zero-width one)."""
    parts = leaves(metric)
    pooled = [x for p in parts for v in verdicts if (x := item_value(p, v)) is not None]
    if pooled and all(p.binary for p in parts) and all(x in (0.0, 1.0) for x in pooled):
        return wilson_ci(sum(pooled), len(pooled)), "wilson-pooled"
    return None, None


def _counts(metric: Metric, verdicts: Sequence[Verdict]) -> dict[str, int]:
    """Status counts of the verdicts in the metric's scope (over its parts' scopes for composites)."""
    scopes = leaves(metric)
    inside = [v for v in verdicts if any(in_scope(m, v) for m in scopes)]
    return {s.value: sum(1 for v in inside if v.status is s) for s in Status}


def _missing_reason(verdicts: Sequence[Verdict], counts: dict[str, int]) -> str:
    if not verdicts or not sum(counts.values()):
        return "no items"
    parts = [f"{counts[s]} {s}" for s in ("failed", "unjudged", "invalid") if counts[s]]
    why = next((v.reason for v in verdicts if v.status is Status.UNJUDGED and v.reason), None)
    if counts["scored"]:
        text = f"undefined on the {counts['scored']} scored item{'s' if counts['scored'] != 1 else ''}"
    else:
        text = "no scored item"
    text += f" ({', '.join(parts)})" if parts else ""
    return f"{text}: {why}" if why else text


def compute_metric(metric: Metric, verdicts: Sequence[Verdict], with_ci: bool = True,
                   low_n_policy: str = "null") -> dict[str, Any]:
    """Evaluate one metric: value (or null with the reason), CI and its method, direction, counts.

    `low_n_policy`: "null" (default mode: too few counted items for a non-binary metric -> null) or "flag"
    (compat: keep the original's value, flag it, no interval).
    """
    out: dict[str, Any] = {
        "direction": metric.direction,
        "headline": metric.headline,
        "judge_kind": metric.judge_kind,
        "description": metric.description,
    }
    counts = _counts(metric, verdicts)
    items: list[float] | None = None
    if metric.per_item is not None:
        items = [x for x in (item_value(metric, v) for v in verdicts) if x is not None]
    try:
        if metric.reduce and items is not None:
            value = metric.reduce(items)
        elif metric.parts and metric.combine is not None:
            value = metric.compute(verdicts)  # composites evaluate their parts, each filtering centrally
        else:
            value = metric.compute(scored_in_scope(metric, verdicts))
    except ZeroDivisionError as exc:
        value, out["reason"] = None, str(exc) if isinstance(exc, MetricUndefined) else "no countable items"
    if isinstance(value, (np.floating, np.integer)):
        value = float(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        out.setdefault("reason", _missing_reason(verdicts, counts))
        value = None
    n = len(items) if items is not None else counts["scored"] + (counts["invalid"] if metric.parts else 0)
    if metric.parts and metric.combine is not None:
        parts = leaves(metric)
        n = sum(1 for v in verdicts if any(item_value(p, v) is not None for p in parts))
    binary = metric.binary and items is not None and all(x in (0.0, 1.0) for x in items)
    low_n = value is not None and not binary and n < MIN_N
    out.update(n=n, n_scored=counts["scored"], n_invalid=counts["invalid"], n_failed=counts["failed"],
               n_unjudged=counts["unjudged"], partial=bool(counts["failed"] or counts["unjudged"]))
    ci, method = None, None
    if with_ci and value is not None and metric.ci:
        if binary:
            ci, method = wilson_ci(sum(items or []), n), "wilson"
        elif n >= MIN_N:
            ci, method = bootstrap_ci(metric, verdicts, item_values=items), "bootstrap"
            if ci is not None and ci[0] == ci[1]:
                ci, method = _degenerate(metric, verdicts, ci)
                if ci is None:
                    out["ci_reason"] = "every counted item has the same value: a bootstrap cannot estimate an interval"
    if low_n:
        out["low_n"] = True
        out["ci_reason"] = f"too few counted items to estimate an interval (n={n} < {MIN_N})"
        if low_n_policy == "null":
            out["low_n_value"] = value
            out["reason"] = f"too few to estimate: {n} counted item{'s' if n != 1 else ''}, at least {MIN_N} needed"
            value = None
    out["value"] = value
    out["ci"] = list(ci) if ci else None
    out["ci_method"] = method if ci else None
    return out
