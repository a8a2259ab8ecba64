"""A GGUF without a chat template is named as one, a template can be supplied, and `render` gives the exact text
sent. The no-template model is the real SmolLM2 GGUF copied without `tokenizer.chat_template` (gguf package)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError
from trustbench.models.llamacpp import chat_template_kind

pytest.importorskip("llama_cpp")


def test_template_kind_from_metadata():
    assert chat_template_kind(None, None) is None
    assert chat_template_kind("   ", None) is None  # an empty template is no template
    assert chat_template_kind("{% for m in messages %}{{ m.content }}{% endfor %}", None) == "gguf"
    assert chat_template_kind(None, "chatml") == "user-supplied"
    assert chat_template_kind("{{ x }}", "/t.jinja") == "user-supplied"


@pytest.fixture(scope="module")
def base_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2's GGUF minus its chat template: what a base model's GGUF looks like."""
    pytest.importorskip("gguf", reason="needs the gguf package (dev extra)")
    from trustbench.models.llamacpp import smollm2_path

    out = tmp_path_factory.mktemp("gguf") / "smollm2-no-template.gguf"
    proc = subprocess.run([sys.executable, "-m", "gguf.scripts.gguf_new_metadata", "--remove-metadata",
                           "tokenizer.chat_template", "--force", str(smollm2_path()), str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.mark.slow
def test_gguf_without_template_is_named_and_gets_the_raw_prompt(base_gguf, capfd):
    from trustbench.models import load_backend

    base = load_backend(f"llamacpp:{base_gguf}")
    try:
        info = base.info()
        assert info["chat_template"] is None and info["chat_template_source"] is None
        assert "has no chat template" in capfd.readouterr().err  # said once, on stderr
        assert base.render("What is 2+2?") == "What is 2+2?"  # sent as written: nothing wraps it
        [(_, resp)] = list(base.generate([Request("k", "The capital of France is",
                                                  GenerationSettings(temperature=0.0, max_tokens=8))]))
        assert resp.error is None and resp.text
    finally:
        base.close()

    supplied = load_backend(f"llamacpp:{base_gguf},chat_template=chatml")
    try:
        assert supplied.info()["chat_template"] == "user-supplied"
        assert supplied.info()["chat_template_source"] == "chatml"
        assert supplied.render("Hi") == "<|im_start|>system\n<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        assert supplied.id != base.id  # another template, other answers: another cache identity
    finally:
        supplied.close()


@pytest.mark.slow
def test_gguf_template_and_a_jinja_file(tmp_path):
    from trustbench.models import load_backend

    own = load_backend("smollm2")
    assert own.info()["chat_template"] == "gguf"
    text = own.render("Hello")
    assert text.endswith("<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n") and "SmolLM" in text
    jinja = tmp_path / "plain.jinja"
    jinja.write_text("{% for m in messages %}### {{ m['role'] }}: {{ m['content'] }}\n{% endfor %}### assistant:")
    custom = load_backend(f"smollm2,chat_template={jinja}")
    assert custom.render("Hello") == "### user: Hello\n### assistant:"
    assert custom.info()["chat_template"] == "user-supplied" and custom.id != own.id
    with pytest.raises(TrustbenchError, match="neither a file nor a known format name"):
        load_backend(f"smollm2,chat_template={tmp_path / 'missing.jinja'}")


@pytest.mark.slow
def test_run_of_a_template_less_model_says_so_everywhere(base_gguf, tmp_path):
    """Console, results.json, report and items.jsonl (the prompt exactly as sent) all name the missing template;
    with the embedded model, items.jsonl holds the templated prompt."""
    import json
    import os

    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "trustllm"
    env = {**os.environ, "TRUSTBENCH_HOME": str(tmp_path / "home"), "TRUSTBENCH_DATA": str(data)}
    outs = {}
    for name, spec in (("base", f"llamacpp:{base_gguf}"), ("chat", "smollm2")):
        out = tmp_path / name
        proc = subprocess.run([sys.executable, "-m", "trustbench.cli", "run", "--tasks", "safety/misuse", "--limit", "1",
                               "--model", spec, "--out", str(out), "--quiet"], capture_output=True, text=True,
                              timeout=600, env=env)
        assert proc.returncode in (0, 3), proc.stderr
        outs[name] = (proc, json.loads((out / "results.json").read_text()),
                      [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()],
                      (out / "report.html").read_text(encoding="utf-8"))
    proc, doc, items, html = outs["base"]
    assert "has no chat template" in proc.stderr
    assert "chat_template" in doc["model"]["info"] and doc["model"]["info"]["chat_template"] is None
    assert "no chat template" in html
    assert items[0]["sent_prompt"] == items[0]["prompt"]
    _, doc, items, html = outs["chat"]
    assert doc["model"]["info"]["chat_template"] == "gguf" and "no chat template" not in html
    assert items[0]["sent_prompt"].startswith("<|im_start|>") and items[0]["prompt"] in items[0]["sent_prompt"]
