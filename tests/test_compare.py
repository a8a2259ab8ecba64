"""`trustbench compare` and `export` over real scored runs: ranks, significance, reference, trust–utility."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from test_report import cli, ethics_answers, score_run
from trustbench.core import Verdict
from trustbench.errors import TrustbenchError
from trustbench.metrics import Metric, mean_metric
from trustbench.export import export
from trustbench.reference import load_reference
from trustbench.report import load_run
from trustbench.report.compare import compare, load_utility, paired_bootstrap, to_markdown, write_comparison

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
    assert [r.vs_next for r in board.rows] == ["significant (paired bootstrap)"] * 2 + [""]
    assert c.overall.rows[0].label == board.rows[0].label and c.dimensions[0].title == "ethics"
    assert "1/6 incomplete" in c.overall.rows[0].coverage  # only one of six dimensions was run
    assert [lab for lab, _, _ in c.avg_rank] == [r.label for r in board.rows]


def _verdicts(values: dict[str, float]) -> dict[str, Verdict]:
    return {k: Verdict(k, {"x": v}, "rule:test") for k, v in values.items()}


@pytest.mark.parametrize("metric", [
    mean_metric("mean", lambda v: v.values["x"]),  # vectorised path
    Metric("mean_set", lambda vs: sum(v.values["x"] for v in vs) / len(vs)),  # recomputed on each draw
])
def test_paired_bootstrap_needs_a_real_difference(metric):
    same = {str(i): float(i % 2) for i in range(40)}
    assert paired_bootstrap(metric, _verdicts(same), _verdicts(same)) == (0.0, 0.0)
    better = {k: 1.0 for k in same}
    lo, hi = paired_bootstrap(metric, _verdicts(better), _verdicts(same))
    assert 0 < lo <= 0.5 <= hi
    noisy = {k: float((int(k) // 2) % 2) for k in same}  # same mean, different items
    lo, hi = paired_bootstrap(metric, _verdicts(noisy), _verdicts(same))
    assert lo < 0 < hi
    assert paired_bootstrap(metric, _verdicts({"a": 1.0}), _verdicts({"a": 0.0, "b": 1.0})) is None  # one shared item


def test_identical_runs_tie_and_are_not_significant(runs, tmp_path):
    copy = tmp_path / "good-again"
    copy.mkdir()
    for f in ("results.json", "items.jsonl"):
        (copy / f).write_text((runs["good"] / f).read_text())
    c = compare([load_run(runs["good"]), load_run(copy)])
    board = _board(c, "ethics/implicit_ethics · overall")
    assert [r.rank for r in board.rows] == [1, 1] and board.rows[0].vs_next == "n.s. (paired bootstrap)"
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
        names = {m.name for m in task.metrics(False)} | {m.name for m in task.metrics(True)}
        assert e.metric in names or any(a["metric"] in names for a in e.alternatives), (e.task, e.metric, names)
        directions = {m.direction for m in task.metrics(False) if m.name == e.metric}
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
    assert "paired bootstrap" in md and "GPT-4 *(paper)*" in md
    for line in md.splitlines():
        if re.match(r"\| \d+ \|", line) and "half" in line:  # a leaderboard row
            assert len(re.split(r"(?<!\\)\|", line)) == 8  # six cells: the escaped pipe stays inside its cell
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
    pq = pytest.importorskip("pyarrow.parquet")
    ppath, pn = export(runs["mixed"], "parquet", tmp_path / "items.parquet", ["ethics/implicit_ethics"])
    table = pq.read_table(ppath)
    assert pn == table.num_rows == N
    first = table.slice(0, 1).to_pylist()[0]
    assert json.loads(first["verdict"]) == rows[0]["verdict"] and dict(first["groups"]) == rows[0]["groups"]
    proc = cli("export", str(runs["mixed"]), "--format", "parquet", "--out", str(tmp_path / "cli.parquet"))
    assert f"Exported {N} items" in proc.stdout
    with pytest.raises(TrustbenchError, match="--format accepts jsonl or parquet"):
        export(runs["mixed"], "csv")
    with pytest.raises(TrustbenchError, match="'safety/jailbreak' is not in"):
        export(runs["mixed"], "jsonl", tmp_path / "x.jsonl", ["safety/jailbreak"])
