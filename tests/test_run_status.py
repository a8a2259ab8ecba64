"""A run reports its own failures: no number from a failed generation, exit status 3 when incomplete."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "trustllm"
TASK = ROOT / "examples" / "trustbench-example-task" / "trustbench_example_task" / "capitals.toml"


def cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRUSTBENCH_HOME": str(tmp / "home"), "TRUSTBENCH_DATA": str(DATA)}
    return subprocess.run([sys.executable, "-m", "trustbench.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def run_scripted(tmp: Path, rules: list[dict], *extra: str) -> tuple[subprocess.CompletedProcess, dict | None]:
    script = tmp / "script.json"
    script.write_text(json.dumps({"default": "A", "rules": rules}))
    out = tmp / "run"
    r = cli(tmp, "run", "--task-file", str(TASK), "--model", f"scripted:{script}", "--out", str(out), "--quiet", *extra)
    doc = json.loads((out / "results.json").read_text()) if (out / "results.json").is_file() else None
    return r, doc


def test_every_generation_failing_is_null_never_zero(tmp_path):
    r, doc = run_scripted(tmp_path, [{"match": ".", "error": "HTTP 500: internal error"}])
    assert r.returncode == 3, r.stderr
    t = doc["tasks"]["example/capitals"]
    acc = t["metrics"]["accuracy"]
    assert acc["value"] is None and acc["ci"] is None and acc["reason"] == "no scored item (4 failed)"
    assert t["n_failed"] == 4 and "HTTP 500" in t["first_error"] and doc["complete"] is False
    assert "incomplete run" in r.stderr and "4 of 4 items failed" in r.stderr
    assert doc["scores"]["overall"]["value"] is None


def test_partial_failures_are_partial_and_exit_3(tmp_path):
    r, doc = run_scripted(tmp_path, [{"match": "France|Japan", "error": "timeout"}])
    acc = doc["tasks"]["example/capitals"]["metrics"]["accuracy"]
    assert r.returncode == 3 and acc["partial"] and (acc["n"], acc["n_failed"]) == (2, 2)
    assert acc["value"] == 0.5  # Canada A (right), Kenya A (wrong): computed from the two answers only


def test_complete_run_exits_0(tmp_path):
    r, doc = run_scripted(tmp_path, [{"match": "Japan|Kenya", "response": "B"}])
    assert r.returncode == 0, r.stderr
    assert doc["complete"] and doc["incomplete"] == [] and doc["tasks"]["example/capitals"]["metrics"]["accuracy"]["value"] == 1.0


def test_selection_matching_no_task_is_an_error_before_generation(tmp_path):
    r = cli(tmp_path, "run", "--dimension", "ethics", "--tasks", "safety/misuse", "--model", "echo",
            "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "matches no task" in r.stderr and not (tmp_path / "o" / "results.json").exists()


def test_empty_data_file_is_an_error(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    task = tmp_path / "t.toml"
    task.write_text('[task]\nname = "e"\nkind = "refusal_rate"\ndata = "empty.jsonl"\nprompt = "{q}"\n')
    r = cli(tmp_path, "run", "--task-file", str(task), "--model", "echo", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "holds no records" in r.stderr
    data = tmp_path / "data"
    (data / "ethics").mkdir(parents=True)
    for f in DATA.rglob("*.json"):
        rel = f.relative_to(DATA)
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        (data / rel).symlink_to(f)
    (data / "ethics" / "implicit_ETHICS.json").unlink()
    (data / "ethics" / "implicit_ETHICS.json").write_text("[]")
    r = cli(tmp_path, "data", "check", "--data", str(data))
    assert r.returncode != 0 and "holds no records" in r.stdout + r.stderr
    r = cli(tmp_path, "run", "--data", str(data), "--tasks", "ethics/implicit_ethics", "--model", "echo",
            "--out", str(tmp_path / "o2"))
    assert r.returncode == 2 and "holds no records" in r.stderr and not (tmp_path / "o2" / "results.json").exists()


@pytest.mark.parametrize("bad", ['"maybe"', '"WRONG"', "NaN", "true"])
def test_labels_outside_the_vocabulary_are_an_error(tmp_path, bad):
    recs = json.loads((DATA / "ethics" / "implicit_ETHICS.json").read_text())[:3]
    responses = tmp_path / "responses" / "ethics"
    responses.mkdir(parents=True)
    text = json.dumps([{**r, "res": "It is wrong."} for r in recs])
    text = text.replace('"label": "' + recs[1]["label"] + '"', '"label": ' + bad, 1)
    (responses / "implicit_ETHICS.json").write_text(text)
    r = cli(tmp_path, "score", "--responses", str(tmp_path / "responses"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "field 'label'" in r.stderr and "Traceback" not in r.stderr


def test_score_with_null_responses_is_incomplete(tmp_path):
    recs = json.loads((DATA / "ethics" / "implicit_ETHICS.json").read_text())[:4]
    responses = tmp_path / "responses" / "ethics"
    responses.mkdir(parents=True)
    (responses / "implicit_ETHICS.json").write_text(json.dumps([{**r, "res": None} for r in recs]))
    r = cli(tmp_path, "score", "--responses", str(tmp_path / "responses"), "--out", str(tmp_path / "o"))
    doc = json.loads((tmp_path / "o" / "results.json").read_text())
    t = doc["tasks"]["ethics/implicit_ethics"]
    assert r.returncode == 3 and t["n_failed"] == 4
    assert t["metrics"][t["headline"]]["value"] is None
