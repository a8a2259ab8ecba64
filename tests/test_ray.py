"""Ray-sharded runs on a real local Ray cluster (head + worker node on 127.0.0.1, one CPU each).

(a) `run --ray ADDRESS --replicas 2` gives the same results and stored responses as a plain run;
(b) a worker node killed mid-run: the run completes and every item is stored exactly once;
(c) no ray / a bad address: one clear message.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError

# Ray binds the machine's address unless told it is a single-host cluster: keep every process on 127.0.0.1.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
pytestmark = pytest.mark.timeout(240)
ROOT = Path(__file__).resolve().parents[1]
TASKS = "ethics/social_norm,privacy/leakage"
SCRIPT = {"default": "It is good.", "rules": [
    {"match": "(?i)steal|kill|lie|cheat", "response": "That is bad."},
    {"match": "(?i)phone|email|address", "response": "I cannot share that."},
    {"match": "(?i)friend", "response": "neutral"},
]}


@pytest.fixture(scope="module")
def cluster():
    """A head and one worker node, 1 CPU each, fast node-failure detection; the test process is a driver."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    fast = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 300, "health_check_failure_threshold": 3}
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "_system_config": fast})
    assert c.address.startswith("127.0.0.1:")
    worker = c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, log_to_driver=False, logging_level=logging.ERROR)
    c.worker = worker
    yield c
    ray.shutdown()
    c.shutdown()


def _cli(args: list[str], home: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRUSTBENCH_HOME": str(home), "TRUSTBENCH_DATA": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "trustbench.cli", *args], env=env, capture_output=True, text=True,
                          timeout=240, cwd=ROOT)


def _items(run: Path) -> dict[tuple[str, str], str | None]:
    rows = [json.loads(line) for line in (run / "items.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): r["response"] for r in rows}


def _values(run: Path) -> dict[str, dict[str, float | None]]:
    doc = json.loads((run / "results.json").read_text())
    return {tid: {name: m["value"] for name, m in t["metrics"].items()} for tid, t in doc["tasks"].items()}


def test_ray_run_equals_a_plain_run(cluster, tmp_path, data_dir):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    common = ["run", "--model", f"scripted:{script}", "--tasks", TASKS, "--limit", "12", "--quiet"]
    plain = _cli([*common, "--out", str(tmp_path / "plain")], tmp_path / "home-plain", data_dir)
    assert plain.returncode in (0, 3), plain.stderr
    sharded = _cli([*common, "--out", str(tmp_path / "ray"), "--ray", cluster.address, "--replicas", "2",
                    "--num-cpus", "1"], tmp_path / "home-ray", data_dir)
    assert sharded.returncode == plain.returncode, sharded.stderr
    assert _items(tmp_path / "ray") == _items(tmp_path / "plain")
    assert len(_items(tmp_path / "plain")) == 24
    assert _values(tmp_path / "ray") == _values(tmp_path / "plain")
    assert any(v is not None for t in _values(tmp_path / "plain").values() for v in t.values())
    doc = json.loads((tmp_path / "ray" / "results.json").read_text())
    assert doc["generation"]["generated"] == 24 and doc["model"]["id"].startswith("scripted:script.json#")
    # the pool's id is the backend's: a plain run over the Ray run's store generates nothing
    again = _cli([*common, "--out", str(tmp_path / "again")], tmp_path / "home-ray", data_dir)
    assert json.loads((tmp_path / "again" / "results.json").read_text())["generation"]["generated"] == 0, again.stderr


# Enough work left after the kill (~8 s for one replica) that Ray reports the dead actor before the survivor
# finishes everything.
N_KILL = 60


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc): a node's raylet starts the node's Ray workers."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_node(cluster) -> None:
    """A machine lost: its raylet and every process it started die at once (remove_node alone kills only the
    node's daemons; an orphaned actor process went on answering its driver for seconds in one CI run)."""
    import signal

    raylet = cluster.worker.all_processes["raylet"][0].process.pid
    workers = _descendants(raylet)
    cluster.remove_node(cluster.worker, allow_graceful=False)
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_worker_node_killed_mid_run_every_item_stored_once(cluster, tmp_path):
    from trustbench.models.ray_pool import RayPool
    from trustbench.store import Store

    log = tmp_path / "generated.log"
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    pool = RayPool(f"scripted:{script},latency=0.15,log={log}", address=cluster.address, replicas=2, num_cpus=1,
                   chunk=3)
    requests = [Request(f"k{i:02d}", f"prompt {i}: may I steal?" if i % 3 == 0 else f"prompt {i}", GenerationSettings())
                for i in range(N_KILL)]
    store = Store(tmp_path / "store.sqlite")
    stored: list[str] = []
    killed = False
    for req, resp in pool.generate(requests):
        store.put_response(req.key, pool.id, req.settings, req.prompt, resp)
        stored.append(req.key)
        # Kill only once both replicas are generating (a replica whose worker is still starting has nothing in
        # flight to lose): two PIDs in the generate log.
        working = {line.split("\t")[1] for line in log.read_text().splitlines()}
        if not killed and len(stored) >= 3 and len(working) == 2:
            _kill_node(cluster)
            killed = True
            cluster.worker = cluster.add_node(num_cpus=1, wait=False)  # a replacement
    pool.close()  # the replicas outlive generate(): free their CPUs for the next tests
    assert killed, "the second replica never started generating"
    assert sorted(stored) == [r.key for r in requests]  # every item once, none twice
    assert store.count() == N_KILL
    got = store.get_responses([r.key for r in requests])
    assert got["k00"].text == "That is bad." and got["k01"].text == "It is good."
    generated = [line.split("\t")[0] for line in log.read_text().splitlines()]
    assert set(generated) == set(stored)
    assert pool.stats["restarts"] == 1 and pool.stats["requeued"] >= 1, pool.stats  # the kill landed on work
    assert pool.stats["lost_replicas"] == 0, pool.stats  # a restart waiting for a node is one death, not four
    # Rework stays bounded: the lost chunk (3) generated again, plus at most one tail copy per replica (2 x 3).
    assert len(generated) <= N_KILL + 9, (len(generated), pool.stats)


def test_replicas_live_across_generate_calls_until_close(cluster, tmp_path):
    """An LLM judge on Ray calls generate once per task: the same actor answers every call (its weights load once)."""
    from trustbench.models.ray_pool import RayPool

    log = tmp_path / "generated.log"
    pool = RayPool(f"echo,log={log}", address=cluster.address, replicas=1, num_cpus=0.5)
    try:
        for call in range(3):
            reqs = [Request(f"c{call}-{i}", f"call {call} prompt {i}", GenerationSettings()) for i in range(2)]
            assert sorted(r.key for r, _ in pool.generate(reqs)) == [r.key for r in reqs]
        pids = {line.split("\t")[1] for line in log.read_text().splitlines()}
        assert len(log.read_text().splitlines()) == 6 and len(pids) == 1, pids
    finally:
        pool.close()
    assert pool._actors == []
    huge = RayPool("echo", address=cluster.address, replicas=2, num_cpus=64, place_s=2)
    with pytest.raises(TrustbenchError, match=r"could not be placed within 2 s \(2 asked, each num_cpus=64\)"):
        list(huge.generate([Request("x", "x", GenerationSettings())]))
    assert huge._actors == [None, None]  # the unplaced replicas were killed, not left pending


def test_missing_ray_and_bad_address_are_one_clear_message(monkeypatch, tmp_path, data_dir):
    import builtins

    from trustbench.models import ray_pool

    with pytest.raises(TrustbenchError, match="no Ray cluster answers there"):
        ray_pool.check_reachable("127.0.0.1:1")
    with pytest.raises(TrustbenchError, match="expected local, auto, HOST:PORT"):
        ray_pool.check_reachable("nowhere")
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(TrustbenchError, match=r"pip install 'trustbench\[ray\]'"):
        ray_pool.RayPool("echo", address="local")
    monkeypatch.undo()
    for args, message in ((["--ray", "127.0.0.1:1"], "no Ray cluster answers there"),
                          (["--replicas", "2"], "only apply with --ray")):
        res = _cli(["run", "--model", "echo", "--tasks", "ethics/social_norm", "--limit", "2",
                    "--out", str(tmp_path / "x"), *args], tmp_path / "home", data_dir)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr


def test_pool_renders_and_describes_as_its_replicas(tmp_path):
    """items.jsonl's sent_prompt and results.json's model info under --ray are the replicas' backend's: the chat
    template applied, named as such (no cluster needed: both come from the driver's copy of the backend)."""
    pytest.importorskip("ray")
    pytest.importorskip("llama_cpp")
    from trustbench.models import load_backend
    from trustbench.models.ray_pool import RayPool

    pool = RayPool("smollm2", address="127.0.0.1:1", replicas=2)
    plain = load_backend("smollm2")
    try:
        sent = pool.render("Is it wrong to lie?", 64)
        assert sent == plain.render("Is it wrong to lie?", 64) and sent != "Is it wrong to lie?"
        assert "<|im_start|>user" in sent
        info = pool.info()
        assert info["chat_template"] == plain.info()["chat_template"] == "gguf"
        assert info["ray"] == {"address": "127.0.0.1:1", "replicas": 2, "restarts": 0, "requeued": 0,
                               "duplicates": 0, "lost_replicas": 0}
    finally:
        pool.close()
        plain.close()


# ---------------------------------------------------------------------------------------------
# Judges on Ray (--ray-judges): same ids as local judges, so results and items equal a run judged on the driver.
JUDGE_SCRIPT = {"default": "[CORRECTED] The premise is false.", "rules": [
    {"match": "(?i)moon|sun", "response": "No tag here."},
]}


def _judged_runs(tmp_path: Path, data_dir: Path, address: str, tasks: str, extra: list[str], ray_judges: list[str]):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    common = ["run", "--model", f"scripted:{script}", "--tasks", tasks, "--limit", "12", "--quiet", *extra]
    local = _cli([*common, "--out", str(tmp_path / "local")], tmp_path / "home-local", data_dir)
    assert local.returncode in (0, 3), local.stderr
    remote = _cli([*common, "--out", str(tmp_path / "remote"), "--ray", address, "--replicas", "2", "--num-cpus", "0.5",
                   *ray_judges], tmp_path / "home-remote", data_dir)
    assert remote.returncode == local.returncode, remote.stderr
    assert "Traceback" not in remote.stderr, remote.stderr
    return tmp_path / "local", tmp_path / "remote"


def _judge_columns(run: Path) -> dict[tuple[str, str], tuple]:
    rows = [json.loads(line) for line in (run / "items.jsonl").read_text().splitlines()]
    return {(r["task"], r["id"]): (r["response"], r["judge"], json.dumps(r["verdict"], sort_keys=True)) for r in rows}


def test_heavy_judges_on_ray_equal_local_judging(cluster, tmp_path, data_dir):
    local, remote = _judged_runs(
        tmp_path, data_dir, cluster.address, "safety/misuse,truthfulness/sycophancy_persona",
        ["--judge", "refusal=clf"], ["--ray-judges", "refusal,embedding", "--judge-replicas", "2"])
    assert _values(remote) == _values(local)
    values = _values(local)
    assert values["truthfulness/sycophancy_persona"]["similarity_gap"] is not None, values
    assert values["safety/misuse"]["RtA"] is not None, values
    assert _judge_columns(remote) == _judge_columns(local)
    judges = {r[1] for r in _judge_columns(local).values()}
    assert any(str(j).startswith("refusal:clf@") for j in judges) and any("minilm" in str(j) for j in judges), judges


def test_llm_judge_on_ray_equals_local(cluster, tmp_path, data_dir):
    judge = tmp_path / "judge.json"
    judge.write_text(json.dumps(JUDGE_SCRIPT))
    local, remote = _judged_runs(tmp_path, data_dir, cluster.address, "truthfulness/adv_factuality",
                                 ["--judge", f"llm=scripted:{judge}"], ["--ray-judges", "llm"])
    assert _values(remote) == _values(local)
    assert _values(local)["truthfulness/adv_factuality"]["corrected_rate"] is not None
    assert _judge_columns(remote) == _judge_columns(local)
    # what --ray-judges builds: the LLM judges over a RayPool, heavy judges in actors, rules on the driver
    from trustbench.judges import JudgeSet, make_judge
    from trustbench.judges.ray_judge import RayJudge, RayJudgeOptions
    from trustbench.models.ray_pool import RayPool

    kinds = frozenset({"llm", "refusal", "toxicity"})
    judges = JudgeSet(None, {"llm": f"scripted:{judge}", "refusal": "rules", "toxicity": "profanity-check"},
                      remote=RayJudgeOptions(cluster.address, kinds))
    assert isinstance(judges.llm.backend, RayPool)  # type: ignore[union-attr]
    assert judges.llm.id == make_judge("llm", f"scripted:{judge}", None).id  # type: ignore[union-attr]
    assert type(judges.refusal).__name__ == "RuleRefusalJudge"
    assert type(judges.get("toxicity")).__name__ == "ProfanityCheckJudge"
    clf = JudgeSet(None, {"refusal": "llm:echo"}, second={"refusal": "clf"}, remote=RayJudgeOptions(cluster.address, kinds))
    assert isinstance(clf.refusal.llm.backend, RayPool)  # type: ignore[attr-defined]
    clf.refusals([("p", "I cannot help with that.")])
    assert isinstance(clf._second_built["refusal"], RayJudge)
    clf.close()


def test_ray_judge_faults(cluster, tmp_path):
    """A killed actor is restarted and its work retried; unbuildable and unplaceable judges are one clear error."""
    ray = pytest.importorskip("ray")
    from trustbench.judges import JudgeInput, make_judge
    from trustbench.judges.ray_judge import RayJudge, RayJudgeOptions

    opts = RayJudgeOptions(cluster.address, frozenset({"refusal"}), replicas=1, num_cpus=0.5, batch=4)
    items = [JudgeInput(response=t) for t in ("I cannot help with that.", "Sure, here it is.", "Sorry, I won't.")] * 3
    judge = RayJudge("refusal", "clf", None, opts)
    assert judge.id == make_judge("refusal", "clf", None).id
    want = make_judge("refusal", "clf", None)._judge(items)
    assert judge._judge(items) == want
    ray.kill(judge._actors[0], no_restart=False)  # Ray restarts it (max_restarts) and the call is retried
    assert judge._judge(items) == want
    judge.close()
    broken = RayJudge("refusal", f"hf:{tmp_path / 'no-such-model'}", None, opts)
    with pytest.raises(TrustbenchError, match=r"Ray judge refusal=hf:.*no-such-model.*cannot load the classifier"):
        broken._judge(items[:2])
    huge = RayJudge("refusal", "clf", None, RayJudgeOptions(cluster.address, frozenset({"refusal"}), num_cpus=64,
                                                            place_s=2))
    with pytest.raises(TrustbenchError, match="could not be placed within 2 s.*num_cpus=64"):
        huge._judge(items[:2])


def test_ray_judges_flags_checked_before_any_work(tmp_path, data_dir):
    for args, message in ((["--ray-judges", "refusal"], "--ray-judges only apply with --ray"),
                          (["--ray", "local", "--ray-judges", "refusal,clf"], "--ray-judges: unknown judge kind 'clf'"),
                          (["--ray", "local", "--ray-judges", ","], "--ray-judges needs kinds"),
                          (["--ray", "local", "--judge-replicas", "2"], "--judge-replicas only applies with --ray-judges"),
                          (["--ray", "local", "--ray-judges", "all", "--judge-replicas", "0"], "--judge-replicas must be at least 1")):
        res = _cli(["run", "--model", "echo", "--tasks", "ethics/social_norm", "--limit", "2",
                    "--out", str(tmp_path / "x"), *args], tmp_path / "home", data_dir)
        assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, (args, res.stderr)
        assert not (tmp_path / "x").exists() and not (tmp_path / "home" / "store.sqlite").exists()
