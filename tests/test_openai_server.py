"""The openai backend against real servers on 127.0.0.1: llama.cpp's OpenAI-compatible server running SmolLM2
(killed and restarted in the middle of a run), and a small stdlib HTTP server for the faults llama.cpp
never produces (429, 401, 400) and for concurrency, rate limit and key handling."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError
from trustbench.models import load_backend
from trustbench.store import Store, response_key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests(n: int, max_tokens: int = 8, **settings) -> list[Request]:
    gs = GenerationSettings(temperature=0.0, max_tokens=max_tokens, **settings)
    return [Request(f"k{i}", f"Name an animal that starts with the letter {chr(65 + i)}.", gs) for i in range(n)]


# -- llama.cpp server -----------------------------------------------------------------------------

def start_llama_server(port: int, log: Path) -> subprocess.Popen:
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server] (dev extra)")
    from trustbench.models.llamacpp import smollm2_path

    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()), "--host", "127.0.0.1",
           "--port", str(port), "--n_ctx", "1024", "--model_alias", "smollm2"]
    proc = subprocess.Popen(cmd, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"llama.cpp server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise AssertionError("llama.cpp server did not come up in 120 s")


@pytest.mark.slow
def test_llama_server_killed_and_restarted_mid_run(tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    server = start_llama_server(port, log)
    store = Store(tmp_path / "store.sqlite")
    backend = load_backend(f"openai:smollm2@http://127.0.0.1:{port}/v1,concurrency=3,retries=10")
    reqs = requests(10)
    seen: list[str] = []
    try:
        for req, resp in backend.generate(reqs):
            assert resp.error is None and resp.text, resp.error
            store.put_response(req.key, backend.id, req.settings, req.prompt, resp)
            seen.append(req.key)
            if len(seen) == 3:  # requests are in flight: kill the server hard, bring it back on the same port
                server.send_signal(signal.SIGKILL)
                server.wait()
                time.sleep(1.0)
                server = start_llama_server(port, log)
    finally:
        server.kill()
        server.wait()
    assert sorted(seen) == sorted(r.key for r in reqs)  # every item exactly once
    assert store.count() == 10
    assert backend.id.startswith(f"openai:smollm2@http://127.0.0.1:{port}/v1#")


@pytest.mark.slow
def test_llama_server_answers_through_the_cli_run(tmp_path, data_dir):
    """`trustbench run --model openai:...` end to end: responses stored under the openai backend's id."""
    port = free_port()
    server = start_llama_server(port, tmp_path / "server.log")
    env = {**os.environ, "TRUSTBENCH_HOME": str(tmp_path / "home")}
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "trustbench.cli", "run", "--model", f"openai:smollm2@http://127.0.0.1:{port}/v1",
             "--tasks", "ethics/moralchoice_low", "--limit", "2", "--out", str(tmp_path / "run"), "--quiet"],
            capture_output=True, text=True, env=env, timeout=600)
    finally:
        server.kill()
        server.wait()
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["model"]["id"].startswith(f"openai:smollm2@http://127.0.0.1:{port}/v1#")
    assert doc["generation"]["generated"] == 2 and doc["generation"]["failed"] == 0


# -- scripted HTTP server for faults -----------------------------------------------------------------

class Scripted(ThreadingHTTPServer):
    """Answers /v1/chat/completions with a status per call from `script` (then 200), recording each call."""

    daemon_threads = True

    def __init__(self, script: list[int], delay: float = 0.0):
        super().__init__(("127.0.0.1", 0), Handler)
        self.script, self.delay = list(script), delay
        self.models: list[dict] | None = None  # GET /v1/models answers these when set (404 otherwise)
        self.fingerprint: str | None = None  # system_fingerprint in every reply when set
        self.calls: list[dict] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        models = self.server.models
        data = json.dumps({"object": "list", "data": models} if models is not None else {"error": "no"}).encode()
        self.send_response(200 if models is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with srv.lock:
            status = srv.script.pop(0) if srv.script else 200
            srv.calls.append({"t": time.monotonic(), "auth": self.headers.get("Authorization"), "body": body})
            srv.in_flight += 1
            srv.max_in_flight = max(srv.max_in_flight, srv.in_flight)
        time.sleep(srv.delay)
        with srv.lock:
            srv.in_flight -= 1
        if status == 200:
            payload = {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "echo: " + body["messages"][0]["content"]}}],
                       "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
            if srv.fingerprint:
                payload["system_fingerprint"] = srv.fingerprint
        else:
            payload = {"error": {"message": f"scripted {status}", "type": "test"}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status == 429:
            self.send_header("Retry-After", "0")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def scripted():
    servers: list[Scripted] = []

    def make(script: list[int], delay: float = 0.0) -> Scripted:
        srv = Scripted(script, delay)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_retries_429_and_5xx_then_succeeds(scripted):
    srv = scripted([429, 503])
    backend = load_backend(f"openai:m@{srv.url},concurrency=1,retries=2,fingerprint=false")
    [(req, resp)] = list(backend.generate(requests(1, seed=7)))
    assert resp.text == "echo: " + req.prompt and resp.tokens == 3
    assert len(srv.calls) == 3
    body = srv.calls[-1]["body"]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 8 and body["seed"] == 7 + 1  # seed + sample index n
    assert body["messages"] == [{"role": "user", "content": req.prompt}]


def test_bad_request_fails_one_item_and_the_rest_continue(scripted):
    srv = scripted([400])
    backend = load_backend(f"openai:m@{srv.url},concurrency=1,retries=0,fingerprint=false")
    out = dict((r.key, resp) for r, resp in backend.generate(requests(3)))
    assert out["k0"].text is None and "HTTP 400" in out["k0"].error and "scripted 400" in out["k0"].error
    assert out["k1"].text and out["k2"].text


def test_exhausted_retries_on_5xx_fail_the_item(scripted):
    srv = scripted([502, 502, 502])
    backend = load_backend(f"openai:m@{srv.url},concurrency=1,retries=2,fingerprint=false")
    [(_, resp)] = list(backend.generate(requests(1)))
    assert resp.text is None and "HTTP 502" in resp.error and len(srv.calls) == 3


def test_rejected_key_is_fatal_and_never_shown(scripted, monkeypatch):
    secret = "sk-test-SECRET-123"
    monkeypatch.setenv("MY_KEY", secret)
    srv = scripted([401])
    backend = load_backend(f"openai:m@{srv.url},key_env=MY_KEY,retries=0,fingerprint=false")
    assert secret not in backend.id and backend.name == f"openai:m@{srv.url}"
    with pytest.raises(TrustbenchError, match="refused the request \\(HTTP 401\\)") as err:
        list(backend.generate(requests(2)))
    assert secret not in str(err.value)
    assert srv.calls[0]["auth"] == f"Bearer {secret}"


def test_missing_key_and_bad_url_are_clear(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(TrustbenchError, match="set the environment variable OPENAI_API_KEY"):
        load_backend("openai:gpt-4o-mini")
    with pytest.raises(TrustbenchError, match="set the environment variable NOPE_KEY"):
        load_backend("openai:m@http://127.0.0.1:9/v1,key_env=NOPE_KEY")
    with pytest.raises(TrustbenchError, match="not an http\\(s\\) URL"):
        load_backend("openai:m@ftp://host/v1")
    b = load_backend("openai:m@http://user:pw@127.0.0.1:9/v1/?token=abc")
    assert b.name == "openai:m@http://127.0.0.1:9/v1"  # credentials and query never reach the cache key


def test_unreachable_server_is_fatal():
    backend = load_backend(f"openai:m@http://127.0.0.1:{free_port()}/v1,retries=1")
    with pytest.raises(TrustbenchError, match="unreachable after 1 retries"):
        list(backend.generate(requests(2)))


def test_concurrency_bound_and_rate_limit(scripted):
    srv = scripted([], delay=0.3)
    backend = load_backend(f"openai:m@{srv.url},concurrency=4")
    assert len(list(backend.generate(requests(12)))) == 12
    assert 2 <= srv.max_in_flight <= 4

    paced = scripted([])
    backend = load_backend(f"openai:m@{paced.url},concurrency=8,rpm=600,fingerprint=false")  # one start every 0.1 s
    assert len(list(backend.generate(requests(6)))) == 6
    starts = sorted(c["t"] for c in paced.calls)
    assert all(b - a >= 0.08 for a, b in zip(starts, starts[1:]))


def test_responses_are_stored_under_their_request_keys(scripted, tmp_path):
    srv = scripted([])
    backend = load_backend(f"openai:m@{srv.url}")
    store = Store(tmp_path / "s.sqlite")
    reqs = [Request(response_key(backend.id, r.settings, r.prompt), r.prompt, r.settings) for r in requests(5)]
    for req, resp in backend.generate(reqs):
        store.put_response(req.key, backend.id, req.settings, req.prompt, resp)
    got = store.get_responses(r.key for r in reqs)
    assert {k: v.text for k, v in got.items()} == {r.key: "echo: " + r.prompt for r in reqs}


# -- identity and sampling settings (issue 13) ----------------------------------------------------------

def test_identity_follows_the_served_model_and_a_change_is_reported(scripted, capfd):
    """Same name and URL, another model behind it: another cache identity, and a note says so."""
    srv = scripted([])
    srv.models = [{"id": "m", "object": "model", "owned_by": "me", "created": 1, "root": "/models/a.gguf"}]
    srv.fingerprint = "fp-1"
    first = load_backend(f"openai:m@{srv.url}")
    [(_, resp)] = list(first.generate(requests(1)))
    assert resp.text and first.info()["served_model"]["root"] == "/models/a.gguf"
    assert first.info()["system_fingerprint"] == "fp-1" and first.info()["fingerprints_seen"] == ["fp-1"]
    srv.models[0]["created"] = 2  # a restart of the same model: same identity, nothing to say
    assert load_backend(f"openai:m@{srv.url}").id == first.id
    assert "note:" not in capfd.readouterr().err

    srv.models[0]["root"] = "/models/b.gguf"  # another model under the same name
    other = load_backend(f"openai:m@{srv.url}")
    assert other.id != first.id and other.name == first.name
    err = capfd.readouterr().err
    assert "not reused" in err and first.id in err and other.id in err
    srv.fingerprint = "fp-2"  # another build of the server: another identity too
    assert load_backend(f"openai:m@{srv.url}").id not in (first.id, other.id)


def test_cached_responses_of_another_served_model_are_not_reused(scripted, tmp_path):
    srv = scripted([])
    srv.models = [{"id": "m", "object": "model", "owned_by": "me", "root": "a"}]
    store = Store(tmp_path / "s.sqlite")

    def cached(backend) -> int:
        keys = [response_key(backend.id, r.settings, r.prompt) for r in requests(3)]
        return len(store.get_responses(keys))

    a = load_backend(f"openai:m@{srv.url}")
    for req, resp in a.generate(requests(3)):
        store.put_response(response_key(a.id, req.settings, req.prompt), a.id, req.settings, req.prompt, resp)
    assert cached(load_backend(f"openai:m@{srv.url}")) == 3
    srv.models[0]["root"] = "b"
    assert cached(load_backend(f"openai:m@{srv.url}")) == 0


def test_neutral_sampling_is_sent_and_params_override_it(scripted):
    srv = scripted([])
    srv.models = [{"id": "m", "object": "model", "owned_by": "me"}]
    list(load_backend(f"openai:m@{srv.url},fingerprint=false").generate(requests(1)))
    body = srv.calls[-1]["body"]
    assert (body["top_p"], body["presence_penalty"], body["frequency_penalty"]) == (1.0, 0.0, 0.0)
    assert (body["repeat_penalty"], body["repetition_penalty"], body["min_p"], body["top_k"]) == (1.0, 1.0, 0.0, 0)
    list(load_backend(f"openai:m@{srv.url},fingerprint=false,param.repeat_penalty=1.1,param.top_k=40,"
                      'param.stop="END"').generate(requests(1)))
    body = srv.calls[-1]["body"]
    assert (body["repeat_penalty"], body["top_k"], body["stop"], body["top_p"]) == (1.1, 40, "END", 1.0)
    list(load_backend(f"openai:m@{srv.url},fingerprint=false,neutral=false").generate(requests(1)))
    assert not {"top_p", "repeat_penalty", "top_k"} & set(srv.calls[-1]["body"])
    srv.models[0]["owned_by"] = "vllm"  # vLLM before 0.9 rejects top_k=0
    list(load_backend(f"openai:m@{srv.url},fingerprint=false").generate(requests(1)))
    assert srv.calls[-1]["body"]["top_k"] == -1
    assert load_backend(f"openai:m@{srv.url},fingerprint=false").sampling()["top_k"] == -1


@pytest.mark.slow
def test_in_process_and_server_give_the_same_greedy_text(tmp_path):
    """The same GGUF in-process and behind llama_cpp.server: identical greedy text (the server's repeat_penalty
    1.1 and top_k 40 defaults are overridden by the neutral settings the backend sends)."""
    port = free_port()
    server = start_llama_server(port, tmp_path / "server.log")
    prompts = ["Name three fruits.", "What is the capital of Italy?", "Write one sentence about rain.",
               "Is it wrong to lie to a friend? Answer briefly.", "Count from one to ten in words."]
    gs = GenerationSettings(temperature=0.0, max_tokens=48)
    reqs = [Request(f"k{i}", p, gs) for i, p in enumerate(prompts)]
    try:
        served = load_backend(f"openai:smollm2@http://127.0.0.1:{port}/v1,concurrency=1")
        over_http = {r.key: resp.text for r, resp in served.generate(reqs)}
    finally:
        server.kill()
        server.wait()
    local = load_backend("smollm2")
    try:
        in_process = {r.key: resp.text for r, resp in local.generate(reqs)}
    finally:
        local.close()
    assert all(over_http.values())
    assert over_http == in_process
