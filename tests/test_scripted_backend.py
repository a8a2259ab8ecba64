"""The scripted backends (`echo`, `scripted:FILE`): rules, failures, latency, the generate log and identity."""

from __future__ import annotations

import json
import time

import pytest

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError
from trustbench.models import load_backend, parse_spec


def _reqs(*prompts: str) -> list[Request]:
    return [Request(f"k{i}", p, GenerationSettings()) for i, p in enumerate(prompts)]


def _script(tmp_path, **content) -> str:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(content))
    return str(path)


def test_echo_answers_with_the_prompt_or_a_fixed_text():
    out = dict((r.key, resp) for r, resp in load_backend("echo").generate(_reqs("say a b c", "x")))
    assert out["k0"].text == "say a b c" and out["k0"].tokens == 4 and out["k1"].text == "x"
    fixed = load_backend("echo,text=I cannot help")
    assert [r.text for _, r in fixed.generate(_reqs("a", "b"))] == ["I cannot help"] * 2
    assert fixed.id == "echo,text=I cannot help" and load_backend("echo").id == "echo"
    assert parse_spec("echo:").kind == "echo"


def test_first_matching_rule_wins_and_errors_fail_the_item(tmp_path):
    spec = "scripted:" + _script(tmp_path, default="the default answer", rules=[
        {"match": "^boom", "error": "HTTP 500: boom"},
        {"match": "silent", "empty": True},
        {"match": "yes|no", "response": "Yes."},
        {"match": "yes", "response": "never reached"},
    ])
    out = {r.prompt: resp for r, resp in load_backend(spec).generate(_reqs("boom now", "be silent", "say yes", "hello"))}
    assert out["boom now"].text is None and out["boom now"].error == "HTTP 500: boom"
    assert out["be silent"].text == "" and out["be silent"].tokens == 0
    assert out["say yes"].text == "Yes." and out["say yes"].tokens == 1
    assert out["hello"].text == "the default answer" and out["hello"].tokens == 3


def test_fail_every_latency_and_log(tmp_path):
    log = tmp_path / "calls.log"
    spec = "scripted:" + _script(tmp_path, default="ok", fail_every=3)
    backend = load_backend(f"{spec},latency=0.05,log={log}")
    t0 = time.perf_counter()
    out = list(backend.generate(_reqs(*"abcdef")))
    assert time.perf_counter() - t0 >= 0.3
    assert [resp.text is None for _, resp in out] == [False, False, True, False, False, True]
    lines = log.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [f"k{i}" for i in range(6)]


def test_identity_follows_the_file_content(tmp_path):
    path = _script(tmp_path, default="one")
    first = load_backend(f"scripted:{path}").id
    assert load_backend(f"scripted:{path},latency=1").id == first  # latency changes no answer
    _script(tmp_path, default="two")
    assert load_backend(f"scripted:{path}").id != first


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    (json.dumps({"rules": [{"match": "("}]}), "bad regex"),
    (json.dumps({"rules": [{"match": "a", "response": "x", "error": "y"}]}), "exactly one of"),
    (json.dumps({"default": "x", "extra": 1}), "unknown keys extra"),
])
def test_bad_scripts_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TrustbenchError, match=message):
        load_backend(f"scripted:{path}")
    with pytest.raises(TrustbenchError, match="cannot read"):
        load_backend(f"scripted:{tmp_path / 'missing.json'}")
