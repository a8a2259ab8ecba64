"""Judge error in the uncertainty: a refusal rate corrected for the judge's measured sensitivity and specificity.

A judge that misses refusals (sensitivity < 1) or sees refusals that are not there (specificity < 1) biases
an observed refusal rate. The Rogan-Gladen estimator undoes that bias,

    p = (p_obs + specificity - 1) / (sensitivity + specificity - 1), clipped to [0, 1],

and its 95% interval here carries three uncertainties at once, by a parametric bootstrap with a fixed seed:
p_obs ~ Beta(k + 1, n - k + 1), sensitivity ~ Beta(tp + 1, fn + 1), specificity ~ Beta(tn + 1, fp + 1)
(uniform priors; the counts come from a labelled set, e.g. the classifier's held-out set). A small labelled
set therefore gives a wide interval, as it should. Assumptions: the judge errs on the run's responses at the
rates it erred on the labelled set (same kind of responses, same languages); the labelled set's labels are
right; items are independent.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .core import wilson_ci

DRAWS = 4000
SEED = 14
METHOD = "rogan-gladen, parametric bootstrap (Beta posteriors for p_obs, sensitivity, specificity; 4000 draws)"
ASSUMPTIONS = ("The judge's sensitivity and specificity on these responses equal those measured on its labelled set; "
               "the labelled set's labels are correct; items are independent.")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """`metrics.wilson_ci` rounded to 4 digits for reports; (0, 1) when n is 0 (nothing measured)."""
    ci = wilson_ci(k, n, z)
    return (0.0, 1.0) if ci is None else (round(ci[0], 4), round(ci[1], 4))


def rogan_gladen(p_obs: float, sensitivity: float, specificity: float) -> float | None:
    """Corrected prevalence clipped to [0, 1]; None when the judge is no better than chance (sens + spec <= 1)."""
    j = sensitivity + specificity - 1
    if j <= 0:
        return None
    return min(1.0, max(0.0, (p_obs + specificity - 1) / j))


def _counts(quality: Mapping[str, Any]) -> tuple[int, int, int, int]:
    return tuple(int(quality[k]) for k in ("tp", "fn", "tn", "fp"))  # type: ignore[return-value]


def corrected_rate(p_obs_k: int, n: int, quality: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The refusal rate k/n corrected for judge error, with a 95% interval; None when it cannot be corrected.

    `quality` holds the judge's confusion counts on a labelled set: tp, fn (refusals it caught / missed) and
    tn, fp (answers it passed / called refusals). None is returned without quality, without items, without
    both classes in the labelled set, or for a judge no better than chance.
    """
    if quality is None or n <= 0:
        return None
    tp, fn, tn, fp = _counts(quality)
    if tp + fn == 0 or tn + fp == 0:
        return None
    sens, spec = tp / (tp + fn), tn / (tn + fp)
    value = rogan_gladen(p_obs_k / n, sens, spec)
    if value is None:
        return None
    rng = np.random.default_rng(SEED)
    p = rng.beta(p_obs_k + 1, n - p_obs_k + 1, DRAWS)
    se = rng.beta(tp + 1, fn + 1, DRAWS)
    sp = rng.beta(tn + 1, fp + 1, DRAWS)
    j = se + sp - 1
    ok = j > 0  # draws where the judge is worse than chance say nothing about the rate
    draws = np.clip((p[ok] + sp[ok] - 1) / j[ok], 0.0, 1.0)
    lo, hi = (np.quantile(draws, [0.025, 0.975]) if draws.size else (0.0, 1.0))
    return {
        "value": round(value, 4),
        "ci": [round(float(lo), 4), round(float(hi), 4)],
        "sensitivity": {"value": round(sens, 4), "tp": tp, "fn": fn},
        "specificity": {"value": round(spec, 4), "tn": tn, "fp": fp},
        "method": METHOD,
        "assumptions": ASSUMPTIONS,
    }


def judge_quality(judge_id: str) -> dict[str, Any] | None:
    """Measured confusion counts (tp, fn, tn, fp) of a refusal judge on the shipped held-out set, or None.

    All come from the classifier's metadata, measured on data/refusal/heldout_v7.jsonl (round 7, 523 items; drawn
    from what the judge sees in a full run: real SmolLM2 responses, short verdict answers, hard English cases, nine
    other languages; written and labelled blind to round-7 design and training, evaluated once): `refusal:clf@<digest>` only for the shipped weights' digest, `refusal:combo@<digest>-r2` only
    for the shipped combination, `refusal:rules@2` on the same items. Any other judge (hf:, llm:) has no
    measurement unless the caller supplies one.
    """
    from ..judges.refusal_clf import load_model

    try:
        meta = load_model()[3]
    except Exception:  # no shipped classifier: nothing measured
        return None
    source = {"source": meta.get("quality", {}).get("source", "")}
    if judge_id == f"refusal:clf@{meta.get('sha256', '')[:8]}":
        return meta.get("quality")
    held = meta.get("heldout", {})
    counts = None
    if judge_id == "refusal:rules@2":
        counts = held.get("rules@2", {}).get("all")
    elif judge_id.startswith("refusal:combo@"):
        from ..judges.refusal_combo import ComboRefusalJudge

        try:
            shipped = ComboRefusalJudge(None).id
        except Exception:  # no shipped combination: nothing measured
            return None
        counts = held.get("combo", {}).get("all") if judge_id == shipped else None
    if counts:
        return {k: counts[k] for k in ("tp", "fn", "tn", "fp")} | source
    return None
