"""`trustbench compare` and `export` over real scored runs: ranks, significance, reference, trust–utility."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_report import cli, ethics_answers, score_run

from trustbench.core import Status, Verdict
from trustbench.errors import TrustbenchError
from trustbench.export import export
from trustbench.metrics import Metric, mean_metric
from trustbench.profiles import get_profile
from trustbench.reference import load_reference
from trustbench.report import load_run
from trustbench.report.compare import compare, load_utility, to_markdown, write_comparison
from trustbench.report.significance import paired_test, sign_flip, unpaired_test

N = 30


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_dir) -> dict[str, Path]:
    """Four scored runs on the same 30 ETHICS items: all right, all wrong, and two with 60% / 50% right."""
    tmp = tmp_path_factory.mktemp("compare")
    right, wrong = ethics_answers(N, True), ethics_answers(N, False)
    mixed = [r if i % 5 < 3 else w for i, (r, w) in enumerate(zip(right, wrong))]
    half = [r if i % 2 else w for i, (r, w) in enumerate(zip(right, wrong))]
    return {name: score_run(tmp, name, {"ethics/implicit_ETHICS.json": answers})
            for name, answers in (("good", right), ("bad", wrong), ("mixed", mixed), ("half|pipe", half))}


def _board(c, title):
    return next(b for b in c.tasks if b.title == title)


def test_leaderboard_ranks_and_paired_significance(runs):
    c = compare([load_run(runs[k]) for k in ("bad", "good", "mixed")])
    board = _board(c, "ethics/implicit_ethics · overall")
    assert [r.label.split(" (")[0] for r in board.rows] == ["external:responses-good", "external:responses-mixed",
                                                            "external:responses-bad"]
    assert [r.rank for r in board.rows] == [1, 2, 3]
    # good vs mixed: 12 discordant pairs, all one way; mixed vs bad: 18 (exact tests, p far below 0.05)
    assert [r.vs_next.split(" (")[0] for r in board.rows] == ["significant", "significant", ""]
    assert "n=30" in board.rows[0].vs_next and "permutation" in board.rows[0].vs_next
    assert c.overall.rows[0].label == board.rows[0].label and c.dimensions[0].title == "ethics"
    assert "1/6 incomplete" in c.overall.rows[0].coverage  # only one of six dimensions was run
    assert [lab for lab, _, _ in c.avg_rank] == [r.label for r in board.rows]


def _verdicts(values: dict[str, float]) -> dict[str, Verdict]:
    return {k: Verdict(k, Status.SCORED, "rule:test", score=v) for k, v in values.items()}


MEAN = mean_metric("mean", lambda v: v.score)  # a per-item metric: sign-flip / McNemar
MEAN_SET = Metric("mean_set", lambda vs: sum(v.score for v in vs) / len(vs))  # recomputed on each swap


@pytest.mark.parametrize("metric", [MEAN, MEAN_SET])
def test_paired_test_needs_a_real_difference(metric):
    same = {str(i): float(i % 2) for i in range(40)}
    t = paired_test(metric, _verdicts(same), _verdicts(same))
    assert t.p == 1.0 and not t.significant and t.n == 40
    better = {k: 1.0 for k in same}
    t = paired_test(metric, _verdicts(better), _verdicts(same))
    assert t.significant and t.p < 0.001
    noisy = {k: float((int(k) // 2) % 2) for k in same}  # same mean, different items
    assert not paired_test(metric, _verdicts(noisy), _verdicts(same)).significant
    one = paired_test(metric, _verdicts({"a": 1.0}), _verdicts({"a": 0.0, "b": 1.0}))  # one shared item
    assert one.p == 1.0 and not one.significant


def test_four_or_five_shared_items_are_never_significant():
    """The issue's case: the paired bootstrap called 4-5 differences significant (a paired t-test: p = 0.17)."""
    from scipy.stats import ttest_rel

    a = {"1": 0.9, "2": 0.8, "3": 0.9, "4": 0.2}
    b = {"1": 0.1, "2": 0.2, "3": 0.3, "4": 0.48}
    assert ttest_rel(list(a.values()), list(b.values())).pvalue == pytest.approx(0.17, abs=0.01)
    t = paired_test(MEAN, _verdicts(a), _verdicts(b))
    assert t.p == pytest.approx(0.25) and t.n == 4 and t.method == "sign-flip exact"  # 4 of 16 patterns as extreme
    assert t.label() == "n.s. (p=0.25, n=4; sign-flip exact)"
    # three right answers against three wrong, one tie: every bootstrap mean is >= 0 and only 1 in 256 is 0,
    # so the old 95% interval excluded 0 ("significant"); the exact test: 3 discordant pairs, p = 0.25
    t = paired_test(MEAN, _verdicts({"1": 1.0, "2": 1.0, "3": 1.0, "4": 0.0}), _verdicts({k: 0.0 for k in "1234"}))
    assert t.label() == "n.s. (p=0.25, n=4; McNemar exact)"
    # the most extreme 0/1 outcome at n = 4 and 5: all right against all wrong
    for n, p in ((4, 0.125), (5, 0.0625)):
        t = paired_test(MEAN, _verdicts({str(i): 1.0 for i in range(n)}), _verdicts({str(i): 0.0 for i in range(n)}))
        assert t.p == pytest.approx(p) and t.method == "McNemar exact" and not t.significant
    t = paired_test(MEAN_SET, _verdicts({str(i): 1.0 for i in range(5)}), _verdicts({str(i): 0.0 for i in range(5)}))
    assert t.p == pytest.approx(0.0625) and t.method == "paired permutation exact" and not t.significant


COMPLY, REFUSE = "Sure, here is how: step one.", "I'm sorry, but I cannot help with that."


def test_zero_of_five_gets_wilson_intervals_and_no_significant_dimension(tmp_path, data_dir):
    """The issue's case: tasks at 0/5 had intervals [0, 0], so a dimension was "significant (CIs disjoint)"
    although none of its tasks differed."""
    a = score_run(tmp_path, "a", {"safety/jailbreak.json": [COMPLY] * 5, "safety/misuse.json": [REFUSE] * 5})
    b = score_run(tmp_path, "b", {"safety/jailbreak.json": [COMPLY] * 5, "safety/misuse.json": [REFUSE] * 4 + [COMPLY]})
    ra, rb = load_run(a), load_run(b)
    jb = ra.tasks["safety/jailbreak"]["metrics"]["RtA"]
    assert jb["value"] == 0.0 and jb["ci_method"] == "wilson" and jb["ci"] == [0.0, pytest.approx(0.4345, abs=1e-4)]
    c = compare([ra, rb])
    dim = next(x for x in c.dimensions if x.title == "safety")
    assert dim.rows[0].value == pytest.approx(0.5) and dim.rows[1].value == pytest.approx(0.4)
    assert dim.rows[0].vs_next == "n.s. (significantly better on 0 of 2 tasks; all are needed)"
    assert c.overall.rows[0].vs_next == "n.s. (significantly better on 0 of 1 dimensions; all are needed)"
    assert _board(c, "safety/jailbreak · RtA").rows[0].vs_next == "n.s. (p=1, n=5; McNemar exact)"
    assert _board(c, "safety/misuse · RtA").rows[0].vs_next == "n.s. (p=1, n=5; McNemar exact)"
    md = to_markdown(c)
    assert "CIs" not in md and "(wilson)" in md and "low n: safety/jailbreak, safety/misuse" in md


def test_dimension_significant_only_when_every_task_is(tmp_path, data_dir):
    safe = "safety/exaggerated_safety.json"  # lower refusal is better: the orientation is the dimension's
    a = score_run(tmp_path, "a", {"safety/misuse.json": [REFUSE] * 12, safe: [COMPLY] * 12})
    b = score_run(tmp_path, "b", {"safety/misuse.json": [COMPLY] * 12, safe: [REFUSE] * 12})
    c = compare([load_run(b), load_run(a)])
    assert _board(c, "safety/misuse · RtA").rows[0].vs_next == "significant (p<0.001, n=12; McNemar exact)"
    dim = next(x for x in c.dimensions if x.title == "safety")
    assert dim.rows[0].label.startswith("external:responses-a")
    assert dim.rows[0].vs_next == "significant (better on all 2 tasks, each p<0.05)"
    assert c.overall.rows[0].vs_next == "significant (better on all 1 dimensions)"
    # one task better, the other the same: not significant, whatever the dimension means say
    half = score_run(tmp_path, "h", {"safety/misuse.json": [COMPLY] * 12, safe: [COMPLY] * 12})
    c = compare([load_run(a), load_run(half)])
    assert next(x for x in c.dimensions if x.title == "safety").rows[0].vs_next == (
        "n.s. (significantly better on 1 of 2 tasks; all are needed)")
    # different scoring profiles: no test at all, at any level
    t = score_run(tmp_path, "t", {"safety/misuse.json": [COMPLY] * 12, safe: [REFUSE] * 12},
                  extra=("--profile", "trustllm"))
    c = compare([load_run(a), load_run(t)])
    assert _board(c, "safety/misuse · RtA").rows[0].vs_next == "not tested (different scoring profiles)"
    assert next(x for x in c.dimensions if x.title == "safety").rows[0].vs_next.startswith("not tested (2 of 2 tasks")
    # runs that computed different tasks (complying jailbreak answers get a toxicity value): not tested
    j1 = score_run(tmp_path, "j1", {"safety/jailbreak.json": [REFUSE] * 12})
    j2 = score_run(tmp_path, "j2", {"safety/jailbreak.json": [COMPLY] * 12})
    c = compare([load_run(j1), load_run(j2)])
    assert next(x for x in c.dimensions if x.title == "safety").rows[0].vs_next.startswith(
        "not tested (the runs computed different tasks: safety/toxicity")


def test_sign_flip_exact_and_sampled():
    assert sign_flip([]) == (1.0, "sign-flip exact") and sign_flip([0.0, 0.0])[0] == 1.0
    p, method = sign_flip([0.3, 0.1, 0.2, 0.4, 0.5, 0.6])  # all positive: 2 of 64 patterns as extreme
    assert p == pytest.approx(2 / 64) and method == "sign-flip exact"
    p, method = sign_flip([0.1 * (i % 7 + 1) for i in range(30)])  # 30 non-zero: sampled, with a fixed seed
    assert method == "sign-flip, 20000 draws" and p == pytest.approx(1 / 20001)
    assert sign_flip([0.1 * (i % 7 + 1) * (-1) ** i for i in range(30)]) == sign_flip(
        [0.1 * (i % 7 + 1) * (-1) ** i for i in range(30)])  # reproducible


def test_unpaired_tests_when_no_item_is_shared():
    a = _verdicts({f"a{i}": 0.0 for i in range(5)})
    b = _verdicts({f"b{i}": 0.0 for i in range(5)})
    t = paired_test(MEAN, a, b)  # nothing shared: Fisher's exact test on 0/5 against 0/5
    assert t.p == 1.0 and t.method == "Fisher exact" and t.n == 10
    good = _verdicts({f"c{i}": 1.0 for i in range(10)})
    assert unpaired_test(MEAN, list(good.values()), list(_verdicts({f"d{i}": 0.0 for i in range(10)}).values())).significant
    t = unpaired_test(MEAN_SET, list(_verdicts({"x": 1.0, "y": 0.9}).values()), list(_verdicts({"z": 0.1}).values()))
    assert t.method == "permutation exact" and t.p == pytest.approx(1 / 3) and not t.significant  # 1 of 3 splits


def test_identical_runs_tie_and_are_not_significant(runs, tmp_path):
    copy = tmp_path / "good-again"
    copy.mkdir()
    for f in ("results.json", "items.jsonl"):
        (copy / f).write_text((runs["good"] / f).read_text())
    c = compare([load_run(runs["good"]), load_run(copy)])
    board = _board(c, "ethics/implicit_ethics · overall")
    assert [r.rank for r in board.rows] == [1, 1] and board.rows[0].vs_next.startswith("n.s. (p=1, n=30;")
    assert c.labels[0] != c.labels[1]  # same model: the run directory tells them apart


def test_reference_places_runs_among_the_papers_models(runs):
    c = compare([load_run(runs["good"]), load_run(runs["bad"])], reference="trustllm-paper")
    board = _board(c, "ethics/implicit_ethics · overall")
    paper = [r for r in board.rows if r.reference]
    assert len(paper) == 16 and all(r.ci is None for r in paper)
    assert board.rows[0].label.startswith("external:responses-good") and board.rows[0].rank == 1
    assert board.rows[-1].label.startswith("external:responses-bad") and board.rows[-1].rank == 18
    assert "original judges" in board.note
    ref = load_reference()
    entry = next(e for e in ref.entries if e.task == "ethics/implicit_ethics")
    assert entry.values["GPT-4"] == 0.674 and entry.rank(0.7) == 1 and entry.rank(0.0) == 17


def test_reference_table_maps_to_registered_tasks_and_metrics():
    from trustbench.tasks import registry

    ref = load_reference()
    assert len(ref.models) == 16 and len(ref.entries) == 31
    assert all(set(e.values) == set(ref.models) for e in ref.entries)
    adv = next(e for e in ref.entries if e.task == "robustness/advinstruction")
    assert 0 < min(adv.values.values()) and max(adv.values.values()) <= 1  # percent converted to a share
    unmapped = []
    for e in ref.entries:
        task = registry().get(e.task)
        if task is None:
            unmapped.append(e.task)  # a task another area has not registered yet
            continue
        names = {m.name for p in ("default", "trustllm") for m in get_profile(p).metrics(task)}
        assert e.metric in names or any(a["metric"] in names for a in e.alternatives), (e.task, e.metric, names)
        directions = {m.direction for m in get_profile("default").metrics(task) if m.name == e.metric}
        assert directions <= {e.direction}, (e.task, e.metric)
    assert len(unmapped) <= 6, unmapped
    with pytest.raises(TrustbenchError, match="unknown reference"):
        load_reference("nope")


def test_trust_utility_correlation(runs, tmp_path):
    loaded = [load_run(runs[k]) for k in ("good", "mixed", "half|pipe", "bad")]
    util = tmp_path / "utility.json"
    util.write_text(json.dumps({"good": 0.9, "external:responses-mixed": 0.7, "half|pipe": 0.5, "bad": 0.1}))
    c = compare(loaded, utility_file=util)
    assert c.utility["n"] == 4 and c.utility["rho"] == pytest.approx(1.0)
    csv = tmp_path / "utility.csv"
    csv.write_text("run,utility\ngood,0.1\nmixed,0.5\nhalf|pipe,0.7\nbad,0.9\n")
    assert compare(loaded, utility_file=csv).utility["rho"] == pytest.approx(-1.0)

    # without a file: no task has an accuracy headline here, so there is nothing to correlate, and it says so
    proxy = compare(loaded).utility
    assert proxy["rho"] is None and "needs at least 3 runs" in proxy["why"]
    assert compare(loaded[:2], utility_file=util).utility["why"].startswith("needs at least 3")

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"good": "high"}))
    with pytest.raises(TrustbenchError, match="entry 1 \\('good'\\): utility must be a number"):
        load_utility(bad)
    nomatch = tmp_path / "nomatch.json"
    nomatch.write_text(json.dumps({"gpt-9": 1.0}))
    with pytest.raises(TrustbenchError, match="no key matches"):
        compare(loaded, utility_file=nomatch)


def test_markdown_and_html_outputs_escape_labels(runs, tmp_path):
    c = compare([load_run(runs["half|pipe"]), load_run(runs["good"])], reference="trustllm-paper")
    md = to_markdown(c)
    assert "external:responses-half\\|pipe" in md and "| 1 | **external:responses-good**" in md
    assert "significant (p&lt;0.001, n=30;" in md and "GPT-4 *(paper)*" in md and "paired bootstrap" not in md
    for line in md.splitlines():
        if re.match(r"\| \d+ \|", line) and "half" in line:  # a leaderboard row
            assert len(re.split(r"(?<!\\)\|", line)) == 9  # seven cells: the escaped pipe stays inside its cell
    proc = cli("compare", str(runs["good"]), str(runs["bad"]), "--out", str(tmp_path / "cmp"), "--reference", "trustllm-paper")
    assert (tmp_path / "cmp" / "compare.md").is_file() and "HTML:" in proc.stdout
    html = (tmp_path / "cmp" / "compare.html").read_text()
    assert "<script" not in html and "Average rank" in html and "Llama2-70b" in html
    md_path, html_path = write_comparison(c, tmp_path / "again")
    assert "half|pipe" in html_path.read_text() and md_path.read_text() == md


def test_export_jsonl_and_parquet(runs, tmp_path):
    path, n = export(runs["mixed"], "jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert path.name == "export.jsonl" and n == len(rows) == N
    assert rows[0]["dimension"] == "ethics" and rows[0]["model"] == "external:responses-mixed"
    assert isinstance(rows[0]["verdict"], dict) and rows[0]["groups"]["topic"]
    # the typed verdict's fields are columns: 18 of the 30 answers are right (i % 5 < 3), none failed
    assert {r["status"] for r in rows} == {"scored"} and sum(r["correct"] for r in rows) == 18
    assert all(r["label"] in ("wrong", "not wrong") and r["judge"] for r in rows)
    assert [r["correct"] for r in rows] == [r["verdict"].get("correct") for r in rows]
    pq = pytest.importorskip("pyarrow.parquet")
    ppath, pn = export(runs["mixed"], "parquet", tmp_path / "items.parquet", ["ethics/implicit_ethics"])
    table = pq.read_table(ppath)
    assert pn == table.num_rows == N
    first = table.slice(0, 1).to_pylist()[0]
    assert json.loads(first["verdict"]) == rows[0]["verdict"] and dict(first["groups"]) == rows[0]["groups"]
    assert {k: first[k] for k in ("status", "label", "score", "correct", "reason", "judge")} == {
        k: rows[0][k] for k in ("status", "label", "score", "correct", "reason", "judge")}
    assert table.schema.field("correct").type == "bool" and table.schema.field("score").type == "double"
    proc = cli("export", str(runs["mixed"]), "--format", "parquet", "--out", str(tmp_path / "cli.parquet"))
    assert f"Exported {N} items" in proc.stdout
    with pytest.raises(TrustbenchError, match="--format accepts jsonl or parquet"):
        export(runs["mixed"], "csv")
    with pytest.raises(TrustbenchError, match="'safety/jailbreak' is not in"):
        export(runs["mixed"], "jsonl", tmp_path / "x.jsonl", ["safety/jailbreak"])
