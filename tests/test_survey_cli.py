"""The survey from the command line: taxonomy listing, data errors, HaluEval fetch, alignment export, a real run."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from trustbench.tasks.survey.alignment import export_alignment

CLI = [sys.executable, "-m", "trustbench.cli"]
ALICE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "public_domain" / "alice_in_wonderland.txt"


def cli(*args, env=None, check=True):
    env = {**os.environ, "COLUMNS": "200", **(env or {})}  # rich wraps tables and messages to the terminal width
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_list_taxonomy_marks_uncovered():
    text = cli("list", "--taxonomy", "survey").stdout
    assert "Leaking Copyrighted Content" in text and "survey/copyright" in text and "not covered" in text
    rows = json.loads(cli("list", "--taxonomy", "trustllm", "--json").stdout)
    assert {r["category"] for r in rows if not r["benchmarked"]} == {"Transparency", "Accountability"}
    bad = cli("list", "--taxonomy", "nope", check=False)
    assert bad.returncode == 2 and "Unknown taxonomy 'nope'" in bad.stderr


def test_missing_survey_data_and_bad_input_are_one_clear_error(tmp_path):
    r = cli("run", "--tasks", "survey/causal", "--limit", "1", env={"TRUSTBENCH_SURVEY_DATA": str(tmp_path)}, check=False)
    assert r.returncode == 2 and "No survey data found in TRUSTBENCH_SURVEY_DATA" in r.stderr and "Traceback" not in r.stderr
    r = cli("run", "--tasks", "survey/causal", "--survey-file", "poem=x.txt", check=False)
    assert r.returncode == 2 and "--survey-file expects NAME=PATH" in r.stderr


def test_fetch_halueval_from_a_local_server(tmp_path):
    rows = [{"knowledge": "k", "question": f"q{i}", "right_answer": "r", "hallucinated_answer": "h"} for i in range(3)]
    (tmp_path / "qa_data.json").write_text("\n".join(json.dumps(r) for r in rows))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    home = tmp_path / "home"
    try:
        url = f"http://127.0.0.1:{server.server_port}/qa_data.json"
        out = cli("survey", "fetch-halueval", "--source", url, env={"TRUSTBENCH_HOME": str(home)}).stdout
        missing = cli("survey", "fetch-halueval", "--source", url + ".nope", env={"TRUSTBENCH_HOME": str(home)}, check=False)
    finally:
        server.shutdown()
    assert "3 HaluEval QA records cached" in out
    assert [json.loads(ln)["question"] for ln in (home / "data/halueval/qa_data.json").read_text().splitlines()] == ["q0", "q1", "q2"]
    assert missing.returncode == 2 and "Could not download" in missing.stderr


def _run_dir(path: Path, items: list[dict], mode: str = "default") -> Path:
    path.mkdir(parents=True)
    (path / "results.json").write_text(json.dumps({"mode": mode, "model": {"id": f"model-{path.name}"}}))
    (path / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def test_export_alignment_labels_pairs_and_skips(tmp_path):
    item = lambda task, prompt, resp, verdict: {"task": task, "id": prompt, "prompt": prompt, "response": resp,  # noqa: E731
                                                "verdict": verdict, "judge": "j", "groups": {}}
    a = _run_dir(tmp_path / "a", [
        item("survey/causal", "P1", "B) No", {"status": "scored", "correct": True, "extras": {"desirable": True}}),
        # RtA: refusing is good
        item("ethics/moralchoice_high", "P2", "I won't choose.", {"status": "scored", "label": "refusal"}),
        item("ethics/moralchoice_high", "P3", "Option A.", {"status": "scored", "label": "answer"}),
        item("survey/causal", "P4", None, {"status": "failed"}),
        item("survey/miscalibration", "P5", "ANS: A", {"status": "scored", "extras": {"samples": 20}}),  # no label
        item("survey/causal", "P6", "maybe", {"status": "invalid", "reason": "no option stated"}),  # not labelled
    ])
    b = _run_dir(tmp_path / "b", [item("survey/causal", "P1", "A) Yes",
                                       {"status": "scored", "correct": False, "extras": {"desirable": False}})])
    counts = export_alignment([a, b], tmp_path / "out")
    assert counts == {"labelled": 4, "desirable": 2, "pairs": 1}
    labelled = [json.loads(ln) for ln in (tmp_path / "out/labelled.jsonl").read_text().splitlines()]
    assert [(x["prompt"], x["label"]) for x in labelled] == [("P1", True), ("P2", True), ("P3", False), ("P1", False)]
    assert labelled[3]["model"] == "model-b"
    [pair] = [json.loads(ln) for ln in (tmp_path / "out/preference.jsonl").read_text().splitlines()]
    assert pair == {"prompt": "P1", "chosen": "B) No", "rejected": "A) Yes", "category": "survey/causal"}
    sft = [json.loads(ln) for ln in (tmp_path / "out/sft.jsonl").read_text().splitlines()]
    assert sft[0]["messages"][1] == {"role": "assistant", "content": "B) No"}
    r = cli("export-alignment", str(tmp_path / "nothing"), check=False)
    assert r.returncode == 2 and "no items.jsonl (not a trustbench run directory)" in " ".join(r.stderr.split())


@pytest.mark.slow
def test_survey_dimension_runs_offline_on_smollm2(tmp_path, survey_dir):
    pytest.importorskip("llama_cpp")
    out = tmp_path / "run"
    r = cli("run", "--dimension", "survey", "--limit", "1", "--out", str(out), "--quiet",
            "--survey-file", f"copyright={ALICE}", check=False)
    doc = json.loads((out / "results.json").read_text())
    # one unit per study is too few to estimate most non-binary metrics: the run says so and exits 3
    assert r.returncode == 3 and doc["complete"] is False and "incomplete run" in r.stderr
    assert any(x.startswith("survey/copyright") and "too few to estimate" in x for x in doc["incomplete"])
    assert set(doc["tasks"]) == {f"survey/{n}" for n in ("hallucination", "safety", "fairness", "miscalibration",
                                                           "misuse", "copyright", "causal", "typo")}
    assert doc["generation"]["requests"] == 1 + 1 + 1 + 20 + 4 + 1 + 2 + 2
    sim = doc["tasks"]["survey/copyright"]["metrics"]["mean_similarity"]
    assert sim["value"] is None and sim["low_n"] and sim["low_n_value"] is not None
    assert "copyright:alice_in_wonderland.txt" in doc["data"]["files"]
    items = [json.loads(ln) for ln in (out / "items.jsonl").read_text().splitlines()]
    assert sum(i["task"] == "survey/miscalibration" for i in items) == 20
    assert not (out / "responses").exists() or not any((out / "responses").rglob("*.txt"))
    cli("export-alignment", str(out))
    assert (out / "alignment" / "labelled.jsonl").stat().st_size > 0
    # the report ranks the run among the survey authors' own released results, and compare can too
    html = (out / "report.html").read_text(encoding="utf-8")
    ref = html[html.index('<section id="reference">'):html.index('<section id="taxonomy">')]
    assert "survey/causal · q1_accuracy" in ref and "Survey authors" in ref and "gpt-4" in ref
    cmp = cli("compare", str(out), "--reference", "survey-published", "--out", str(tmp_path / "cmp"))
    md = (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert "survey/typo · consistency" in md and "*(paper)*" in md, cmp.stdout
