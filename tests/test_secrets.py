"""No credential leaks: a canary key given in each supported way (OPENAI_API_KEY, key_env=, URL userinfo) is
searched for, raw and base64-encoded, in every output of a run: stdout, stderr, every file of the run folder
(its default name included) and the store. Real HTTP servers on 127.0.0.1: one that answers 401 and echoes
the Authorization header it got (raw Bearer, or the Basic header built from userinfo), one that serves."""

from __future__ import annotations

import base64
import json
import os
import secrets as pysecrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from trustbench.secrets import mask, register, register_url

CLI = [sys.executable, "-c", "from trustbench.cli import main; main()"]
LEAKS: list[str] = []


def forms(secret: str, user: str = "user") -> set[str]:
    """The canary as it could leak: raw, and base64 of it and of `user:key` (a Basic header), with and without padding."""
    out = {secret}
    for raw in (secret, f"{user}:{secret}", f":{secret}"):
        b = base64.b64encode(raw.encode()).decode()
        out |= {b, b.rstrip("="), base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")}
    return out


class Handler(BaseHTTPRequestHandler):
    deny = False

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _refuse(self) -> None:
        auth = self.headers.get("Authorization", "")
        self._send(401, {"error": {"message": f"invalid credentials: got Authorization '{auth}' for {self.path}",
                                   "type": "invalid_request_error", "code": "invalid_api_key"}})

    def do_GET(self):
        if self.deny:
            return self._refuse()
        self._send(200, {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "test"}]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        if self.deny:
            return self._refuse()
        self._send(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": "I cannot help with that."}}],
                         "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}})


def serve(deny: bool) -> tuple[ThreadingHTTPServer, int]:
    handler = type("H", (Handler,), {"deny": deny})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def servers():
    refusing, deny_port = serve(True)
    serving, ok_port = serve(False)
    yield {"deny": deny_port, "ok": ok_port}
    refusing.shutdown()
    serving.shutdown()


def scan(secret_forms: set[str], texts: dict[str, str], root: Path) -> list[str]:
    """Where any form of the canary appears: in the given texts, or in any file (name or bytes) under root."""
    found = [f"{where}: {f[:12]}..." for where, text in texts.items() for f in secret_forms if f in text]
    for path in root.rglob("*"):
        rel = str(path.relative_to(root))
        found += [f"file name {rel}" for f in secret_forms if f in rel]
        if path.is_file():
            data = path.read_bytes()
            found += [f"{rel}: {f[:12]}..." for f in secret_forms if f.encode() in data]
    return found


WAYS = ["environment", "key_env", "userinfo"]


@pytest.mark.parametrize("server", ["deny", "ok"])
@pytest.mark.parametrize("way", WAYS)
def test_canary_never_leaks(tmp_path, servers, way, server):
    canary = "sk-canary-" + pysecrets.token_hex(12)
    port = servers[server]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    env.update(TRUSTBENCH_HOME=str(tmp_path / "home"), COLUMNS="200", TRUSTBENCH_PROGRESS_INTERVAL="0.1")
    url = f"http://127.0.0.1:{port}/v1"
    if way == "environment":
        env["OPENAI_API_KEY"] = canary
        spec = f"openai:m@{url},retries=0"
    elif way == "key_env":
        env["MY_CANARY_KEY"] = canary
        spec = f"openai:m@{url},key_env=MY_CANARY_KEY,retries=0"
    else:
        spec = f"openai:m@http://user:{canary}@127.0.0.1:{port}/v1,retries=0"
    work = tmp_path / "work"
    work.mkdir()
    # no --out: the default run-folder name is derived from the spec and must not carry the key either
    proc = subprocess.run([*CLI, "run", "-m", spec, "--tasks", "ethics/moralchoice_high", "--limit", "2"],
                          capture_output=True, text=True, env=env, cwd=work, timeout=300)
    text = proc.stdout + proc.stderr
    assert "Traceback" not in text, text
    if server == "deny":
        assert proc.returncode in (1, 2) and "401" in text, text
    else:
        assert proc.returncode in (0, 3), text
        runs = list((work / "runs").iterdir())
        assert len(runs) == 1 and (runs[0] / "results.json").is_file() and (runs[0] / "report.html").is_file()
        doc = json.loads((runs[0] / "results.json").read_text())
        assert doc["model"]["spec"] == mask(spec)
        assert ("***" in doc["model"]["spec"]) == (way == "userinfo")
    leaks = scan(forms(canary), {"stdout": proc.stdout, "stderr": proc.stderr}, work)
    leaks += scan(forms(canary), {}, tmp_path / "home")
    LEAKS.extend(f"{way}/{server}: {leak}" for leak in leaks)
    assert not leaks, leaks


def test_mask_patterns():
    register("sk-registered-123456")
    register_url("http://alice:pa55word-xyz@host/v1")
    b64 = base64.b64encode(b"alice:pa55word-xyz").decode()
    cases = {
        "openai:m@http://user:KEY123@host:8000/v1,concurrency=2": "openai:m@http://***@host:8000/v1,concurrency=2",
        "https://host/v1?api_key=abc123&x=1": "https://host/v1?api_key=***&x=1",
        "https://host/v1?key=abc123": "https://host/v1?key=***",
        "Authorization: Bearer sk-abc-123456": "Authorization: Bearer ***",
        f"echoed Basic {b64}": "echoed Basic ***",
        f"bare {b64} in a body": "bare *** in a body",
        "raw sk-registered-123456 and b64 " + base64.b64encode(b"sk-registered-123456").decode(): "raw *** and b64 ***",
        "Basic knowledge of Bearer tokens": "Basic knowledge of Bearer tokens",  # prose is left alone
        "http://u:p@ss-word@host/x": "http://***@host/x",  # '@' inside the password
    }
    for text, expected in cases.items():
        assert mask(text) == expected, text


def test_spec_errors_are_masked():
    from trustbench.errors import TrustbenchError
    from trustbench.models import parse_spec

    with pytest.raises(TrustbenchError) as info:
        parse_spec("openai:m@http://user:SPECKEY-42abc@host/v1,bogus=1")
    assert "SPECKEY-42abc" not in str(info.value) and "http://***@host/v1" in str(info.value)


def test_report_leaks(request):
    """Record the leak count for the catalogue (run last in this module)."""
    report = os.environ.get("TRUSTBENCH_FAULT_REPORT")
    if report:
        path = Path(report)
        doc = json.loads(path.read_text()) if path.is_file() else {}
        doc["secrets"] = {"runs": len(WAYS) * 2, "leaks": len(LEAKS), "where": LEAKS}
        path.write_text(json.dumps(doc, indent=2))
    print(f"\nsecrets: {len(WAYS) * 2} runs, {len(LEAKS)} leaks")
