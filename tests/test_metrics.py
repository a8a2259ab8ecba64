"""The central metric rules: no number from a failed, unjudged or empty set; intervals honest for their n."""

from __future__ import annotations

import math

import pytest

from trustbench.core import Status, Verdict
from trustbench.metrics import MIN_N, Metric, compute_metric, mean_metric, rate_metric, wilson_ci
from trustbench.tasks.common import accuracy, invalid_rate, mean_of


def v(i: int, status: Status = Status.SCORED, correct: bool | None = None, score: float | None = None,
      gold: str = "a") -> Verdict:
    return Verdict(f"s{i}", status, "rule:test@1", correct=correct, score=score, groups={"gold": gold})


def test_failed_and_unjudged_never_count_and_make_the_metric_partial():
    vs = [v(0, correct=True), v(1, Status.FAILED), v(2, Status.UNJUDGED), v(3, Status.INVALID)]
    r = compute_metric(accuracy(), vs)
    assert r["value"] == 0.5  # the invalid one counts as wrong, failed and unjudged are left out
    assert (r["n"], r["n_scored"], r["n_invalid"], r["n_failed"], r["n_unjudged"]) == (2, 1, 1, 1, 1)
    assert r["partial"] is True
    excluded = compute_metric(accuracy(invalid_as_wrong=False), vs)
    assert excluded["value"] == 1.0 and excluded["n"] == 1


def test_all_failed_is_null_with_the_reason_never_zero():
    r = compute_metric(accuracy(), [v(i, Status.FAILED) for i in range(3)])
    assert r["value"] is None and r["ci"] is None
    assert r["reason"] == "no scored item (3 failed)"
    r = compute_metric(rate_metric("x", lambda _: True), [v(0, Status.UNJUDGED)])
    assert r["value"] is None and "1 unjudged" in r["reason"]
    assert compute_metric(accuracy(), [])["reason"] == "no items"


def test_wilson_interval_is_honest_at_small_n():
    lo, hi = wilson_ci(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)  # 0/5 is not "[0, 0]"
    r = compute_metric(accuracy(), [v(i, correct=False) for i in range(5)])
    assert r["value"] == 0.0 and r["ci_method"] == "wilson" and r["ci"][1] > 0.4
    lo, hi = wilson_ci(10, 20)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(0.4, abs=0.02)


def test_non_binary_metric_below_min_n_is_too_few_to_estimate():
    sim = mean_metric("sim", lambda x: x.score)
    few = [v(i, score=0.9 + i / 100) for i in range(3)]
    r = compute_metric(sim, few)
    assert r["value"] is None and r["low_n"] and r["low_n_value"] == pytest.approx(0.91)
    assert "too few to estimate: 3 counted items" in r["reason"] and r["ci"] is None
    compat = compute_metric(sim, few, low_n_policy="flag")  # the original reports it: kept, flagged, no interval
    assert compat["value"] == pytest.approx(0.91) and compat["low_n"] and compat["ci"] is None
    many = [v(i, score=i / MIN_N) for i in range(MIN_N)]
    r = compute_metric(sim, many)
    assert r["value"] == pytest.approx(0.45) and r["ci_method"] == "bootstrap" and r["ci"][0] < 0.45 < r["ci"][1]


def test_set_metric_sees_only_scored_verdicts_in_scope():
    seen: list[list[str]] = []

    def count(vs):
        seen.append([x.sample_id for x in vs])
        return float(len(vs))

    m = Metric("count", count, where=lambda x: x.groups["gold"] == "a")
    vs = [v(0), v(1, gold="b"), v(2, Status.INVALID), v(3, Status.FAILED), v(4)]
    compute_metric(m, vs, with_ci=False, low_n_policy="flag")
    assert seen[0] == ["s0", "s4"]


def test_composite_skips_an_empty_class_and_counts_its_parts():
    good = accuracy("good", where=lambda x: x.groups["gold"] == "a")
    bad = accuracy("bad", where=lambda x: x.groups["gold"] == "b")
    overall = mean_of("overall", [good, bad], "mean of classes")
    r = compute_metric(overall, [v(i, correct=i % 2 == 0) for i in range(4)], with_ci=False)
    assert r["low_n_value"] == 0.5 and r["n"] == 4  # class b has no items: skipped, not counted as 0


def test_invalid_rate_counts_answered_items_only():
    vs = [v(0, correct=True), v(1, Status.INVALID), v(2, Status.FAILED)]
    r = compute_metric(invalid_rate(), vs)
    assert r["value"] == 0.5 and r["n"] == 2 and math.isclose(r["ci"][0], wilson_ci(1, 2)[0])


def test_all_alike_composite_gets_a_wilson_interval_never_zero_width():
    good = accuracy("good", where=lambda x: x.groups["gold"] == "a")
    bad = accuracy("bad", where=lambda x: x.groups["gold"] == "b")
    overall = mean_of("overall", [good, bad], "mean of classes")
    vs = [v(i, correct=False, gold="ab"[i % 2]) for i in range(20)]
    r = compute_metric(overall, vs)
    assert r["value"] == 0.0 and r["ci_method"] == "wilson-pooled"
    assert r["ci"][0] == 0.0 and r["ci"][1] == pytest.approx(wilson_ci(0, 20)[1])
    sim = mean_metric("sim", lambda x: x.score)
    r = compute_metric(sim, [v(i, score=0.5) for i in range(12)])
    assert r["value"] == 0.5 and r["ci"] is None  # a non-binary bootstrap that cannot vary says nothing
