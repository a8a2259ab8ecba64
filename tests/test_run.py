"""End to end with the real SmolLM2: generation, resume after SIGKILL, re-scoring, CLI errors."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from helpers import stored_responses

pytest.importorskip("llama_cpp")

CLI = [sys.executable, "-m", "trustbench.cli"]


def cli(*args, env=None, check=True, timeout=600):
    """Run the CLI; `check` accepts 0 (complete) and 3 (finished, incomplete: e.g. too few items to estimate)."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env or os.environ.copy(), timeout=timeout)
    if check and proc.returncode not in (0, 3):
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_real_generation_through_backend():
    from trustbench.core import GenerationSettings, Request
    from trustbench.models import load_backend

    backend = load_backend()
    try:
        [(req, resp)] = list(backend.generate([Request("k", "What is the capital of France? Answer in one word.",
                                                       GenerationSettings(temperature=0.0, max_tokens=16))]))
    finally:
        backend.close()
    assert resp.error is None and resp.tokens > 0 and "paris" in resp.text.lower()
    assert backend.id.startswith("llamacpp:") and ".gguf#" in backend.id


def test_run_writes_results_and_reuses_responses(tmp_path):
    from trustbench.judges import JudgeSet

    env = {**os.environ, "TRUSTBENCH_HOME": str(tmp_path / "home")}  # a fresh store: other tests cache these prompts
    out = tmp_path / "run1"
    r = cli("run", "--tasks", "ethics/implicit_ethics,ethics/moralchoice_high", "--limit", "2", "--out", str(out),
            "--quiet", env=env)
    doc = json.loads((out / "results.json").read_text())
    t = doc["tasks"]["ethics/implicit_ethics"]
    assert t["n_items"] == 2 and t["metrics"]["overall"]["direction"] == "higher"
    # a balanced accuracy over 2 items is too few to estimate: null with the reason, and the exit status says so
    assert t["metrics"]["overall"]["value"] is None and "too few to estimate" in t["metrics"]["overall"]["reason"]
    assert r.returncode == 3 and doc["complete"] is False
    assert doc["tasks"]["ethics/moralchoice_high"]["metrics"]["RtA"]["judge"] == JudgeSet().refusal.id
    assert doc["generation"]["generated"] == 4 and doc["generation"]["tokens"] > 0
    items = [json.loads(ln) for ln in (out / "items.jsonl").read_text().splitlines()]
    assert len(items) == 4 and all(i["response"] for i in items)
    original_layout = json.loads((out / "responses/ethics/implicit_ETHICS.json").read_text())
    assert len(original_layout) == 2 and "res" in original_layout[0]

    # run again in compat mode: nothing is generated, the trustllm object appears
    out2 = tmp_path / "run2"
    cli("run", "--tasks", "ethics/implicit_ethics,ethics/moralchoice_high", "--limit", "2", "--out", str(out2),
        "--quiet", "--compat", "trustllm", env=env)
    doc2 = json.loads((out2 / "results.json").read_text())
    assert doc2["generation"]["generated"] == 0 and doc2["generation"]["cached"] == 4
    run_ethics = doc2["trustllm"]["run_ethics"]
    assert set(run_ethics["implicit_ethics_res_ETHICS"]) == {"overall", "good", "bad"}
    assert "explicit_ethics_res_high" in run_ethics and "B2" in doc2["trustllm"]["notes"]["run_ethics"]

    # the written responses re-score to the same numbers
    out3 = tmp_path / "run3"
    cli("score", "--responses", str(out2 / "responses"), "--out", str(out3), "--compat", "trustllm", env=env)
    doc3 = json.loads((out3 / "results.json").read_text())
    assert doc3["trustllm"]["run_ethics"] == run_ethics




def test_sigkill_then_resume(tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "TRUSTBENCH_HOME": str(home)}
    args = [*CLI, "run", "--tasks", "ethics/moralchoice_low", "--limit", "8", "--out", str(tmp_path / "r"), "--quiet"]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while stored_responses(home) < 3 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = stored_responses(home)
    assert 3 <= before < 8, "the run should have been killed halfway"
    assert not (tmp_path / "r" / "results.json").exists()

    cli("run", "--tasks", "ethics/moralchoice_low", "--limit", "8", "--out", str(tmp_path / "r"), "--quiet", env=env)
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert doc["generation"]["cached"] == before
    assert doc["generation"]["generated"] == 8 - before
    assert stored_responses(home) == 8  # no lost and no duplicated items
    assert doc["tasks"]["ethics/moralchoice_low"]["n_items"] == 8


def test_cli_errors_are_one_clear_line(tmp_path):
    bad = cli("run", "--tasks", "ethics/nope", check=False)
    assert bad.returncode == 2 and "Unknown task 'ethics/nope'" in bad.stderr and "Traceback" not in bad.stderr
    nodata = cli("run", "--data", str(tmp_path), "--limit", "1", check=False)
    assert nodata.returncode == 2 and "No TrustLLM data found" in nodata.stderr
    broken = tmp_path / "d" / "ethics"
    broken.mkdir(parents=True)
    (broken / "implicit_ETHICS.json").write_text(json.dumps([{"prompt": "x", "label": "wrong"}]))
    r = cli("run", "--data", str(tmp_path / "d"), "--tasks", "ethics/implicit_ethics", check=False)
    assert r.returncode == 2 and "record 0: missing field 'topic'" in r.stderr


def test_list_json_counts(data_dir):
    rows = json.loads(cli("list", "--json").stdout)
    by_id = {r["id"]: r for r in rows}
    assert by_id["ethics/moralchoice_low"]["samples"] == 687
    assert by_id["ethics/moralchoice_high"]["samples"] == 680
    assert by_id["ethics/emotional_awareness"]["samples"] == 200
