"""The HTML report: built from real scored runs, hostile model output stays text, nothing missing is hidden."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from trustbench.errors import TrustbenchError
from trustbench.report import load_run, render_report
from trustbench.report.html import script_json
from trustbench.report.scores import orient, overview
from trustbench.taxonomy import coverage

CLI = [sys.executable, "-m", "trustbench.cli"]


def data_file(rel: str) -> list[dict]:
    """Records of a real data file, found the way trustbench finds them (TRUSTBENCH_DATA, set by conftest)."""
    return json.loads((Path(os.environ["TRUSTBENCH_DATA"]) / rel).read_text(encoding="utf-8"))

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    "</script><script>window.__pwned = 3</script>",
    "<svg onload=\"window.__pwned = 4\"></svg> it is wrong",
    "not wrong \u2028</script\u2029><b onmouseover=alert(5)>bold</b> & <!-- comment",
    "{{ 7 * 7 }} {% raw %} <a href=\"javascript:window.__pwned=6\">wrong</a>",
]
HOSTILE_DIR = 'resp <img src=x onerror="window.__pwned=7">'


def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    proc.stdout, proc.stderr = " ".join(proc.stdout.split()), " ".join(proc.stderr.split())  # undo rich's wrapping
    return proc


def score_run(tmp: Path, name: str, files: dict[str, list[str | None]], dirname: str | None = None,
              extra: tuple[str, ...] = ()) -> Path:
    """Score hand-written responses to the first records of real data files via `trustbench score`."""
    responses = tmp / (dirname or f"responses-{name}")
    for rel, answers in files.items():
        records = data_file(rel)[: len(answers)]
        target = responses / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps([{**r, "res": a} for r, a in zip(records, answers)]), encoding="utf-8")
    out = tmp / name
    proc = cli("score", "--responses", str(responses), "--out", str(out), *extra, check=False)
    assert proc.returncode in (0, 3), f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"  # 3: incomplete run
    return out


def ethics_answers(n: int, right: bool) -> list[str]:
    """Answers to the first n ETHICS items, all right or all wrong according to the gold label."""
    gold = [r["label"] for r in data_file("ethics/implicit_ETHICS.json")[:n]]
    flip = {"wrong": "This is not wrong.", "not wrong": "That is wrong."}
    keep = {"wrong": "That is wrong.", "not wrong": "This is not wrong."}
    return [(keep if right else flip)[g] for g in gold]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, data_dir) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    refuse, comply = "I'm sorry, but I cannot help with that.", "Sure! Here is how: step one <script>window.__pwned=8</script>"
    return score_run(tmp, "run", {
        "ethics/implicit_ETHICS.json": [*PAYLOADS, None],
        "safety/jailbreak.json": [refuse, comply, refuse, refuse],
        "safety/misuse.json": [refuse, refuse, comply],
        "safety/exaggerated_safety.json": [refuse, comply, comply, comply],
    }, dirname=HOSTILE_DIR)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_report_escapes_everything_from_the_run(hostile_run: Path):
    html = render_report(hostile_run).read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(html)
    tags = [t for t, _ in parser.tags]
    assert tags.count("script") == 2  # the JSON block and the page's own script, nothing injected
    assert "img" not in tags and "svg" in tags and "b" in tags  # only the page's own charts and bold labels
    assert not any(k.startswith("on") for _, attrs in parser.tags for k in attrs)
    # the hostile run directory name reaches the page only escaped
    assert '&lt;img src=x onerror=&#34;window.__pwned=7&#34;&gt;' in html
    block = re.search(r'<script type="application/json" id="tb-items">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and ">" not in block and "\u2028" not in block and "\u2029" not in block
    items = json.loads(block)
    texts = {i["response"] for i in items["ethics/implicit_ethics"]}
    assert set(PAYLOADS) <= texts  # the data survives the escaping unchanged


def test_script_json_cannot_close_its_block():
    text = str(script_json({"a": "</script><!--<script>\u2028&"}))
    assert "</" not in text and "<!--" not in text and "\u2028" not in text and "&" not in text
    assert json.loads(text) == {"a": "</script><!--<script>\u2028&"}


def test_report_shows_overalignment_reference_and_missing(hostile_run: Path):
    html = render_report(hostile_run).read_text(encoding="utf-8")
    assert 'id="overalign"' in html and "safety/exaggerated_safety" in html
    assert "<circle class=\"own\"" in html and html.count("<circle class=\"ref\"") == 16  # the paper's models
    assert 'id="reference"' in html and "Jailbreak RtA" in html and "original judges" in html
    assert 'id="missing"' in html and "truthfulness (all" in html  # dimensions not run are named
    doc = load_run(hostile_run).doc
    assert doc["tasks"]["ethics/implicit_ethics"]["n_failed"] == 1


def test_comparison_page_draws_overalignment(hostile_run: Path, tmp_path: Path):
    from trustbench.report.compare import compare, write_comparison

    _, page = write_comparison(compare([load_run(hostile_run)], reference="trustllm-paper"), tmp_path)
    html = page.read_text(encoding="utf-8")
    assert 'id="overalign"' in html and html.count('<circle class="own"') == 1 and html.count('<circle class="ref"') == 16
    assert "&lt;img src=x" in html and "<img" not in html


def test_dimension_scores_mark_missing_and_orient_lower_is_better(hostile_run: Path):
    doc = json.loads((hostile_run / "results.json").read_text())
    ov = overview(doc)
    assert not ov.recomputed  # read from results.json `scores`
    safety = next(d for d in ov.members if d.name == "safety")
    status = {t.task: t for t in safety.members}
    exag = status["safety/exaggerated_safety"]
    assert exag.direction == "lower" and exag.oriented == pytest.approx(orient(exag.value, "lower"))
    assert exag.oriented == pytest.approx(0.75)  # refused 1 of 4 safe prompts
    assert status["safety/jailbreak"].oriented == pytest.approx(0.75)
    assert exag.ci_method == "wilson" and exag.ci[0] < exag.value < exag.ci[1]  # an honest interval at n = 4
    assert safety.complete == all(t.status == "computed" for t in safety.members)
    # every computed safety member rests on 3-4 items: the dimension says so, in results.json and here
    assert set(safety.low_n) == {"safety/jailbreak", "safety/misuse", "safety/exaggerated_safety"}
    assert doc["scores"]["dimensions"]["safety"]["low_n"] == safety.low_n
    # ethics' one task has 6 countable answers: its headline is withheld, and the dimension says why
    ethics = next(d for d in ov.members if d.name == "ethics")
    implicit = next(t for t in ethics.members if t.task == "ethics/implicit_ethics")
    assert implicit.status == "too few" and implicit.reason.startswith("too few to estimate")
    assert ethics.value is None and doc["scores"]["dimensions"]["ethics"]["missing"]["ethics/implicit_ethics"].startswith(
        "too few to estimate")
    assert not ov.complete and ov.computed == 1  # only safety has a score
    truth = next(d for d in ov.members if d.name == "truthfulness")
    assert truth.value is None and not truth.complete and all(t.status == "not run" for t in truth.members)

    # a headline metric that could not be computed keeps its dimension incomplete and says why; the stored
    # scores are what was computed at scoring time, so only a document without them is recomputed
    broken = json.loads(json.dumps(doc))
    m = broken["tasks"]["safety/misuse"]["metrics"]["RtA"]
    m.update(value=None, ci=None, reason="no judge configured")
    assert next(d for d in overview(broken).members if d.name == "safety").computed == safety.computed
    del broken["scores"]
    again = overview(broken)
    dim = next(d for d in again.members if d.name == "safety")
    miss = next(t for t in dim.members if t.task == "safety/misuse")
    assert again.recomputed and not dim.complete and miss.status == "not computed" and miss.reason == "no judge configured"
    assert dim.computed == safety.computed - 1


def test_stored_scores_do_not_change_when_tasks_are_added(hostile_run: Path, tmp_path: Path, monkeypatch):
    """An old run's coverage is what it was when scored: report and compare read it, whatever is registered now."""
    from types import SimpleNamespace

    from trustbench.report.compare import compare, to_markdown
    from trustbench.tasks.base import registry

    doc = json.loads((hostile_run / "results.json").read_text())
    stored = doc["scores"]["dimensions"]["safety"]
    before = overview(doc)
    monkeypatch.setitem(registry(), "safety/added_later", SimpleNamespace(id="safety/added_later", dimension="safety"))
    after = overview(doc)
    safety = next(d for d in after.members if d.name == "safety")
    assert safety.coverage == f"{stored['computed']}/{stored['expected']}" == next(
        d for d in before.members if d.name == "safety").coverage
    assert "safety/added_later" not in {t.task for t in safety.members}
    assert after.value == doc["scores"]["overall"]["value"]

    c = compare([load_run(hostile_run)])
    safety_board = next(b for b in c.dimensions if b.title == "safety")
    assert safety_board.rows[0].coverage.startswith(f"{stored['computed']}/{stored['expected']} ")
    assert not c.warnings and "added_later" not in to_markdown(c)
    html = render_report(hostile_run, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "added_later" not in html and "were recomputed from the tasks this install registers" not in html

    # a results.json without stored scores (schema 1.x) is recomputed from today's registry, and says so
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    del doc["scores"]
    (legacy / "results.json").write_text(json.dumps(doc))
    recomputed = overview(doc)
    safety = next(d for d in recomputed.members if d.name == "safety")
    assert recomputed.recomputed and safety.expected == stored["expected"] + 1
    assert "safety/added_later" in {t.task for t in safety.members}
    html = render_report(legacy, reference=None).read_text(encoding="utf-8")
    assert "were recomputed from the tasks this install registers" in html
    assert any("recomputed" in w for w in compare([load_run(legacy)]).warnings)


def test_report_shows_counts_methods_low_n_and_completeness(hostile_run: Path):
    html = render_report(hostile_run).read_text(encoding="utf-8")
    doc = load_run(hostile_run).doc
    assert doc["complete"] is False
    status = html[html.index('<section id="status">'):html.index('<section id="overview">')]
    assert "incomplete" in status and "ethics/implicit_ethics: 1 of 7 items failed" in status
    headline = html[html.index('<section id="headline">'):html.index('</section>', html.index('<section id="headline">'))]
    row = next(r for r in headline.split("<tr") if "#task-ethics/implicit_ethics" in r)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    # task, metric, value, CI, CI method, n, items, scored, invalid, failed, unjudged, flags, judge, mode
    assert cells[2] == "—" and "too few to estimate" in cells[3] and cells[6:11] == ["7", "3", "3", "1", "0"]
    assert "partial (1 failed, 0 unjudged)" in cells[11] and "low n (6): value withheld" in cells[11]
    row = next(r for r in headline.split("<tr") if "#task-safety/jailbreak" in r)
    assert "wilson" in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[4]
    assert "low n: jailbreak, misuse, exaggerated_safety" in html  # the safety dimension card
    assert "missing: too few to estimate" in html  # ethics' withheld headline, under "Not evaluated"
    start = html.index('id="task-ethics/implicit_ethics"')
    task = html[start:html.index('<button', start)]
    assert "first error: <code>no response (&#39;res&#39; is null)</code>" in task


def test_report_command_and_clear_errors(hostile_run: Path, tmp_path: Path):
    out = tmp_path / "r.html"
    proc = cli("report", str(hostile_run), "--out", str(out), "--examples", "2", "--reference", "none")
    assert f"Report: {out}" in proc.stdout and out.is_file()
    assert 'id="reference"' not in out.read_text()

    missing = cli("report", str(tmp_path / "nope"), check=False)
    assert missing.returncode == 2 and "no results.json" in missing.stderr

    broken = tmp_path / "broken"
    broken.mkdir()
    doc = json.loads((hostile_run / "results.json").read_text())
    del doc["tasks"]["ethics/implicit_ethics"]["metrics"]["overall"]["direction"]
    (broken / "results.json").write_text(json.dumps(doc))
    proc = cli("report", str(broken), check=False)
    assert proc.returncode == 2 and "tasks/ethics/implicit_ethics/metrics/overall" in proc.stderr
    assert "'direction' is a required property" in proc.stderr

    with pytest.raises(TrustbenchError, match="unknown reference 'paper-x'"):
        render_report(hostile_run, tmp_path / "x.html", reference="paper-x")


def test_report_shows_taxonomy_coverage(hostile_run: Path):
    html = render_report(hostile_run).read_text(encoding="utf-8")
    section = html[html.index('<section id="taxonomy">'):html.index('<section id="tasks">')]
    ran = load_run(hostile_run).doc["tasks"]
    assert len(coverage("survey", ran)) == 29
    valued = {t for t, r in ran.items() if r["metrics"][r["headline"]]["value"] is not None}
    n_measured = sum(bool(set(r["measured"]) & valued) for r in coverage("survey", ran))  # a value, not just run
    assert f"{n_measured} of 29 measured by this run" in section and 0 < n_measured < 29
    assert 'href="#task-safety/jailbreak"' in section  # a measured sub-category links its task
    assert "no trustbench task" in section and "not in this run" in section
    assert "documented, not benchmarked" in section  # TrustLLM's transparency and accountability


def test_second_judge_agreement_in_results_and_report(tmp_path: Path):
    """--second-judge judges every item the first does; results.json and the report show how far they agree."""
    refuse = "I'm sorry, but I can't help with that."
    hostile = '<script>window.__pwned = 9</script> Sure, here is how.'
    run = score_run(tmp_path, "agree", {"safety/misuse.json": [refuse, hostile, refuse, "Sure, step one."]},
                    extra=("--tasks", "safety/misuse", "--judge", "refusal=rules", "--second-judge", "refusal=rules"))
    doc = load_run(run).doc
    a = doc["judge_agreement"]["refusal"]
    assert a["first"] == a["second"] == "refusal:rules@2" and a["n"] == 4 and a["observed_agreement"] == 1.0
    assert a["kappa"] == 1.0 and a["disagreements"] == []
    html = render_report(run).read_text(encoding="utf-8")
    assert "Judge agreement" in html and "refusal:rules@2" in html
    bad = cli("score", "--responses", str(tmp_path / "responses-agree"), "--out", str(tmp_path / "x"),
              "--second-judge", "toxicity=profanity-check", check=False)
    assert bad.returncode == 2 and "supports only refusal" in bad.stderr + bad.stdout


def test_second_judge_disagreements_are_kept(data_dir: Path):
    from trustbench.judges import DEFAULT_SPECS, Judge, Judgement, JudgeSet

    class AlwaysRefusal(Judge):
        kind, name = "refusal", "always"

        def _judge(self, items):
            return [Judgement(label="refusal") for _ in items]

    js = JudgeSet(None, specs={**DEFAULT_SPECS, "refusal": "rules"}, second={"refusal": "rules"})  # about the rules
    js._second_built["refusal"] = AlwaysRefusal(None)
    got = js.refusals([("q1", "I cannot help with that."), ("q2", "<b>Sure</b>, here it is."), ("q3", "Here you go.")])
    assert [j.label for j in got] == ["refusal", "answer", "answer"]  # scores come from the first judge
    a = js.agreements()["refusal"]
    assert a["n"] == 3 and a["observed_agreement"] == 1 / 3 and a["kappa"] == 0.0
    assert [d["response"] for d in a["disagreements"]] == ["<b>Sure</b>, here it is.", "Here you go."]
