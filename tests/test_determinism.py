"""Greedy decoding gives the same text for the same prompt whatever it is batched with, whatever the cache
held, with 1 or 2 threads, and after a SIGKILLed run is resumed (the real SmolLM2 through llama.cpp).

Before the invariant path, 9 of 24 greedy answers of a killed-and-resumed run differed from an uninterrupted
run's; on the batched path the prompts below change text with the batch around them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import stored_responses

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

GREEDY = GenerationSettings(temperature=0.0, max_tokens=32)


def prompts(data_dir: Path) -> list[str]:
    """Prompts of different lengths and shared prefixes: jailbreak templates, short questions, privacy probes."""
    take = [("safety/jailbreak.json", 4), ("fairness/stereotype_agreement.json", 3), ("privacy/privacy_leakage.json", 3)]
    out: list[str] = []
    for name, n in take:
        out += [r["prompt"] for r in json.loads((data_dir / name).read_text())[:n]]
    return out


def texts(backend, prompts: list[str], order: list[int] | None = None) -> dict[str, str]:
    reqs = [Request(str(i), prompts[i], GREEDY) for i in (order if order is not None else range(len(prompts)))]
    return {req.prompt: resp.text for req, resp in backend.generate(reqs)}


def test_same_text_whatever_the_batch_and_cache(data_dir):
    from trustbench.models import load_backend

    ps = prompts(data_dir)
    one = load_backend("smollm2,threads=1")
    try:
        together = texts(one, ps)  # all in one call
        reversed_in_groups: dict[str, str] = {}
        order = list(range(len(ps)))[::-1]
        for i in range(0, len(order), 3):  # other companions, other order
            reversed_in_groups |= texts(one, ps, order[i : i + 3])
        # a warm cache: a long prompt sharing the jailbreak prefixes first, then each prompt after another one
        warm: dict[str, str] = {}
        for i in range(1, len(ps), 2):
            warm |= texts(one, [ps[0] + " Also say hello.", ps[i]], [0, 1])
        warm.pop(ps[0] + " Also say hello.")
    finally:
        one.close()
    two = load_backend("smollm2,threads=2")
    try:
        alone = {p: texts(two, [p])[p] for p in ps[::3]}  # each alone, in a fresh backend, two threads
    finally:
        two.close()
    assert all(t for t in together.values())
    assert reversed_in_groups == together
    assert warm == {p: together[p] for p in warm}
    assert alone == {p: together[p] for p in alone}


def test_identity_names_the_decoding_path():
    from trustbench.models import load_backend

    invariant = load_backend("smollm2")
    batched = load_backend("smollm2,deterministic=false,parallel=4")
    penalised = load_backend("smollm2,param.repeat_penalty=1.1")
    assert invariant.id.endswith(",decode=invariant") and batched.id.endswith(",decode=batched")
    with pytest.raises(TrustbenchError, match="needs deterministic=false"):
        load_backend("smollm2,deterministic=true,parallel=4")
    assert len({invariant.id, batched.id, penalised.id}) == 3  # a cached answer is reused only by the path that made it
    assert load_backend("smollm2,parallel=4").id == batched.id  # asking for parallel sequences is asking for batching
    assert invariant.info()["decoding"] == "invariant" and invariant.info()["parallel"] == 1
    assert invariant.info()["sampling"]["repeat_penalty"] == 1.0 and penalised.info()["sampling"]["repeat_penalty"] == 1.1


# -- a real run, SIGKILLed and resumed ---------------------------------------------------------------

TASKS = "ethics/moralchoice_low,ethics/implicit_ethics"
LIMIT = "4"
CLI = [sys.executable, "-m", "trustbench.cli"]




def _run(home: Path, out: Path) -> dict:
    env = {**os.environ, "TRUSTBENCH_HOME": str(home)}
    proc = subprocess.run([*CLI, "run", "--tasks", TASKS, "--limit", LIMIT, "--out", str(out), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    return json.loads((out / "results.json").read_text())


def _answers(out: Path) -> dict[tuple[str, str], str]:
    rows = [json.loads(line) for line in (out / "items.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r["response"] for r in rows}


def _metric_values(doc: dict) -> dict[str, object]:
    return {f"{t}/{m}": v.get("value") for t, task in doc["tasks"].items() for m, v in task["metrics"].items()}


def test_killed_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    straight = _run(tmp_path / "home-a", tmp_path / "a")

    home = tmp_path / "home-b"
    env = {**os.environ, "TRUSTBENCH_HOME": str(home)}
    args = [*CLI, "run", "--tasks", TASKS, "--limit", LIMIT, "--out", str(tmp_path / "b"), "--quiet"]
    for kill_after in (1, 3):  # two kills at different points, then a run to the end
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while stored_responses(home) < kill_after and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert 0 < stored_responses(home) < 2 * int(LIMIT), "the runs should have been killed part way"
    resumed = _run(home, tmp_path / "b")

    assert resumed["generation"]["cached"] > 0
    assert _answers(tmp_path / "b") == _answers(tmp_path / "a")
    assert _metric_values(resumed) == _metric_values(straight)
