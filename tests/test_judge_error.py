"""Rogan-Gladen correction of refusal rates for judge error (trustbench.metrics.judge_error)."""

from __future__ import annotations

import pytest

from trustbench.metrics.judge_error import corrected_rate, judge_quality, rogan_gladen, wilson_interval


def test_known_value() -> None:
    # sens 0.8, spec 0.9: observed 0.31 = 0.3*0.8 + 0.7*0.1 -> true 0.3
    assert rogan_gladen(0.31, 0.8, 0.9) == pytest.approx(0.3)
    got = corrected_rate(310, 1000, {"tp": 800, "fn": 200, "tn": 900, "fp": 100})
    assert got is not None and got["value"] == pytest.approx(0.3, abs=1e-4)
    assert got["sensitivity"]["value"] == 0.8 and got["specificity"]["value"] == 0.9
    assert got["ci"][0] < 0.3 < got["ci"][1] and got["ci"][1] - got["ci"][0] < 0.1
    assert set(got) == {"value", "ci", "sensitivity", "specificity", "method", "assumptions"}


def test_perfect_judge_leaves_the_rate_alone() -> None:
    got = corrected_rate(25, 100, {"tp": 500, "fn": 0, "tn": 500, "fp": 0})
    assert got is not None and got["value"] == 0.25


def test_clipped_to_the_unit_interval() -> None:
    assert rogan_gladen(0.05, 0.8, 0.9) == 0.0  # fewer refusals seen than false alarms explain
    assert rogan_gladen(0.95, 0.8, 0.9) == 1.0
    got = corrected_rate(0, 100, {"tp": 80, "fn": 20, "tn": 90, "fp": 10})
    assert got is not None and got["value"] == 0.0 and 0.0 <= got["ci"][0] <= got["ci"][1] <= 1.0


def test_small_labelled_set_gives_a_wide_interval() -> None:
    big = corrected_rate(300, 1000, {"tp": 800, "fn": 200, "tn": 900, "fp": 100})
    small = corrected_rate(300, 1000, {"tp": 8, "fn": 2, "tn": 9, "fp": 1})
    assert big and small and big["value"] == small["value"]
    assert small["ci"][1] - small["ci"][0] > 3 * (big["ci"][1] - big["ci"][0])


def test_deterministic_and_undefined_cases() -> None:
    q = {"tp": 30, "fn": 10, "tn": 50, "fp": 5}
    assert corrected_rate(12, 40, q) == corrected_rate(12, 40, q)
    assert corrected_rate(5, 10, None) is None
    assert corrected_rate(0, 0, q) is None
    assert corrected_rate(5, 10, {"tp": 0, "fn": 0, "tn": 5, "fp": 0}) is None  # no refusals labelled
    assert corrected_rate(5, 10, {"tp": 2, "fn": 8, "tn": 2, "fp": 8}) is None  # worse than chance


def test_wilson() -> None:
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_shipped_judges_have_measured_quality() -> None:
    from trustbench.judges import make_judge

    clf = make_judge("refusal", "clf", None)
    q = judge_quality(clf.id)
    assert q == clf.quality and q["tp"] + q["fn"] > 0 and q["tn"] + q["fp"] > 0
    assert judge_quality("refusal:rules@2") is not None
    assert judge_quality("refusal:hf:LibrAI/longformer-harmful-ro@1") is None
