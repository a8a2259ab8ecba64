"""Tests of a difference between two runs that hold at the n they have (exact or permutation tests).

Why not intervals: a bootstrap over 4 differences, or two zero-width intervals at 0/5, calls noise
significant. Every test here is exact or a permutation test, so its p-value is valid at any n:

* paired, per-item metric with 0/1 items: McNemar's exact test (binomial test on the discordant pairs);
* paired, other per-item metric: sign-flip permutation test of the mean difference (all 2^m sign patterns of
  the m non-zero differences for m <= 20; 20,000 random patterns with a fixed seed beyond);
* paired, set metric (correlation, composite): permutation test swapping the two runs' verdicts per shared
  item and recomputing the metric (exact up to 12 items, 2,000 random swaps with a fixed seed beyond);
* unpaired (the runs share no item): Fisher's exact test for 0/1 items, otherwise a permutation test of the
  run labels (per-item mean or the recomputed metric).

A difference is "significant" only at p < 0.05 from one of these tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations, product
from typing import Sequence

import numpy as np

from ..core import Verdict
from ..metrics import Metric, item_value
from ..metrics.core import scored_in_scope

ALPHA = 0.05
EXACT_SIGN_FLIP = 20  # non-zero differences up to which all 2^m sign patterns are enumerated
SIGN_FLIP_DRAWS = 20_000
EXACT_SWAPS = 12  # shared items up to which a recomputed metric is tested on all 2^n swaps
RECOMPUTE_DRAWS = 2_000
UNPAIRED_DRAWS = 10_000
SEED = 0


@dataclass(frozen=True)
class Test:
    """The outcome of one comparison: a p-value from a named test, or why none was possible."""

    p: float | None
    n: int = 0
    method: str = ""
    why: str = ""  # not tested: the reason

    @property
    def tested(self) -> bool:
        return self.p is not None

    @property
    def significant(self) -> bool:
        return self.p is not None and self.p < ALPHA

    def label(self) -> str:
        if self.p is None:
            return f"not tested ({self.why})"
        word = "significant" if self.significant else "n.s."
        return f"{word} ({fmt_p(self.p)}, n={self.n}; {self.method})"


def fmt_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.2g}"


def not_tested(why: str) -> Test:
    return Test(None, why=why)


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def metric_value(metric: Metric, verdicts: Sequence[Verdict]) -> float | None:
    """The metric on these verdicts exactly as results.json computes it (None when undefined)."""
    try:
        if metric.per_item is not None:
            vals = [x for x in (item_value(metric, v) for v in verdicts) if x is not None]
            value = metric.reduce(vals) if metric.reduce else (sum(vals) / len(vals) if vals else None)
        elif metric.parts and metric.combine is not None:
            value = metric.compute(verdicts)
        else:
            value = metric.compute(scored_in_scope(metric, verdicts))
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    return float(value) if value is not None and _finite(value) else None


# ---- the tests on numbers ---------------------------------------------------------------------------

def sign_flip(diffs: Sequence[float], seed: int = SEED) -> tuple[float, str]:
    """Two-sided p of the paired differences' mean under random signs, and the method's name."""
    d = np.asarray([x for x in diffs if x != 0], dtype=float)
    m = len(d)
    if m == 0:
        return 1.0, "sign-flip exact"
    obs = abs(d.sum())
    tol = 1e-9 * max(1.0, obs)
    absd = np.abs(d)
    if np.allclose(absd, absd[0]):  # equal magnitudes: the binomial test on the signs, exactly, at any m
        return mcnemar(int((d > 0).sum()), int((d < 0).sum())), "exact sign test"
    if m <= EXACT_SIGN_FLIP:
        half = m // 2  # every pattern = a pattern of each half: 2^(m/2) sums per half, added pairwise
        left, right = _signed_sums(absd[:half]), _signed_sums(absd[half:])
        count = int((np.abs(left[:, None] + right[None, :]) >= obs - tol).sum())
        return count / (1 << m), "sign-flip exact"
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(SIGN_FLIP_DRAWS, m))
    count = int((np.abs(signs @ absd) >= obs - tol).sum())
    return (count + 1) / (SIGN_FLIP_DRAWS + 1), f"sign-flip, {SIGN_FLIP_DRAWS} draws"


def mcnemar(a_only: int, b_only: int) -> float:
    """McNemar's exact test: two-sided binomial p of the discordant pairs (1.0 when there are none)."""
    from scipy.stats import binomtest

    return float(binomtest(a_only, a_only + b_only, 0.5).pvalue) if a_only + b_only else 1.0


def _signed_sums(x: np.ndarray) -> np.ndarray:
    """The sums of x under all 2^len(x) sign patterns."""
    codes = np.arange(1 << len(x))[:, None]
    signs = ((codes >> np.arange(len(x))) & 1) * 2 - 1
    return signs @ x if len(x) else np.zeros(1)


def unpaired_items(x: Sequence[float], y: Sequence[float], seed: int = SEED) -> tuple[float, str]:
    """Two-sided p for a difference in means of two independent samples of item values."""
    from scipy.stats import fisher_exact, permutation_test

    if all(v in (0.0, 1.0) for v in [*x, *y]):
        kx, ky = int(sum(x)), int(sum(y))
        return float(fisher_exact([[kx, len(x) - kx], [ky, len(y) - ky]]).pvalue), "Fisher exact"
    res = permutation_test((np.asarray(x, float), np.asarray(y, float)),
                           lambda a, b, axis: np.mean(a, axis=axis) - np.mean(b, axis=axis),
                           permutation_type="independent", vectorized=True, n_resamples=UNPAIRED_DRAWS,
                           alternative="two-sided", random_state=seed)
    exact = math.comb(len(x) + len(y), len(x)) <= UNPAIRED_DRAWS
    return min(1.0, float(res.pvalue)), "permutation exact" if exact else f"permutation, {UNPAIRED_DRAWS} draws"


# ---- the tests on verdicts ----------------------------------------------------------------------------

def paired_test(metric: Metric, a: dict[str, Verdict], b: dict[str, Verdict], seed: int = SEED) -> Test:
    """metric(A) − metric(B) over the items both runs hold (same item ids), pairs kept together."""
    shared = sorted(set(a) & set(b))
    if not shared:
        return unpaired_test(metric, list(a.values()), list(b.values()), seed)
    if metric.per_item is not None:
        pairs = [(x, y) for k in shared
                 if (x := item_value(metric, a[k])) is not None and (y := item_value(metric, b[k])) is not None]
        if not pairs:
            return not_tested("no item counted in both runs")
        if all(v in (0.0, 1.0) for pair in pairs for v in pair):
            return Test(mcnemar(sum(x > y for x, y in pairs), sum(x < y for x, y in pairs)), len(pairs), "McNemar exact")
        p, method = sign_flip([x - y for x, y in pairs], seed)
        return Test(p, len(pairs), method)
    return _paired_recompute(metric, [a[k] for k in shared], [b[k] for k in shared], seed)


def _paired_recompute(metric: Metric, va: list[Verdict], vb: list[Verdict], seed: int) -> Test:
    """Swap A/B per shared item, recompute the metric on both sides, compare |difference| with the observed."""
    xa, xb = metric_value(metric, va), metric_value(metric, vb)
    if xa is None or xb is None:
        return not_tested("the metric is undefined on the shared items of one run")
    n = len(va)
    obs = abs(xa - xb)
    if n <= EXACT_SWAPS:
        patterns = (np.array(bits, dtype=bool) for bits in product((False, True), repeat=n))
        method, exact = "paired permutation exact", True
    else:
        rng = np.random.default_rng(seed)
        patterns = (rng.random(n) < 0.5 for _ in range(RECOMPUTE_DRAWS))
        method, exact = f"paired permutation, {RECOMPUTE_DRAWS} draws", False
    count = valid = 0
    for swap in patterns:
        sa = [vb[i] if s else va[i] for i, s in enumerate(swap)]
        sb = [va[i] if s else vb[i] for i, s in enumerate(swap)]
        x, y = metric_value(metric, sa), metric_value(metric, sb)
        if x is None or y is None:
            continue
        valid += 1
        count += abs(x - y) >= obs - 1e-9 * max(1.0, obs)
    return _from_counts(count, valid, exact, n, method)


def _from_counts(count: int, valid: int, exact: bool, n: int, method: str) -> Test:
    if valid < 2:
        return not_tested("the metric is undefined on most rearrangements of the items")
    p = count / valid if exact else (count + 1) / (valid + 1)
    return Test(min(1.0, p), n, method)


def unpaired_test(metric: Metric, va: list[Verdict], vb: list[Verdict], seed: int = SEED) -> Test:
    """No shared item: compare the two runs' items as independent samples."""
    if not va or not vb:
        return not_tested("no per-item records in one run")
    if metric.per_item is not None:
        xs = [v for v in (item_value(metric, w) for w in va) if v is not None]
        ys = [v for v in (item_value(metric, w) for w in vb) if v is not None]
        if not xs or not ys:
            return not_tested("no counted item in one run")
        p, method = unpaired_items(xs, ys, seed)
        return Test(p, len(xs) + len(ys), method)
    xa, xb = metric_value(metric, va), metric_value(metric, vb)
    if xa is None or xb is None:
        return not_tested("the metric is undefined in one run")
    obs, pool, na = abs(xa - xb), va + vb, len(va)
    total = math.comb(len(pool), na)
    if total <= RECOMPUTE_DRAWS:
        splits = (set(c) for c in combinations(range(len(pool)), na))
        method, exact = "permutation exact", True
    else:
        rng = np.random.default_rng(seed)
        splits = (set(rng.permutation(len(pool))[:na].tolist()) for _ in range(RECOMPUTE_DRAWS))
        method, exact = f"permutation, {RECOMPUTE_DRAWS} draws", False
    count = valid = 0
    for left in splits:
        x = metric_value(metric, [pool[i] for i in sorted(left)])
        y = metric_value(metric, [pool[i] for i in range(len(pool)) if i not in left])
        if x is None or y is None:
            continue
        valid += 1
        count += abs(x - y) >= obs - 1e-9 * max(1.0, obs)
    return _from_counts(count, valid, exact, len(pool), method)
