"""The TOML config file: model spec and judges per kind, with clear errors; CLI options override it."""

import pytest

from trustbench.cli import _judge_specs
from trustbench.config import load_config
from trustbench.errors import TrustbenchError


def test_config_sets_model_and_judges(tmp_path):
    f = tmp_path / "trustbench.toml"
    f.write_text('[model]\nspec = "llamacpp:/models/x.gguf"\n\n[judges]\nrefusal = "rules"\nllm = "smollm2"\n')
    cfg = load_config(f)
    assert [m.spec for m in cfg.models] == ["llamacpp:/models/x.gguf"]
    specs = _judge_specs(["llm=openai:gpt-4o@http://127.0.0.1:9/v1"], cfg)
    assert specs["refusal"] == "rules" and specs["llm"] == "openai:gpt-4o@http://127.0.0.1:9/v1"


def test_config_env_variable(tmp_path, monkeypatch):
    f = tmp_path / "c.toml"
    f.write_text('[judges]\nembedding = "st:/tmp/model"\n')
    monkeypatch.setenv("TRUSTBENCH_CONFIG", str(f))
    assert load_config(None).judges == {"embedding": "st:/tmp/model"}


@pytest.mark.parametrize("text, message", [
    ("[model\n", "not valid TOML"),
    ('[model]\ncolour = "x"\n', "model.colour"),
    ('[[model]]\nspec = "echo"\n\n[[model]]\nspec = 3\n', "model.1.spec"),
    ('[judges]\nrefusal = 3\n', "judges.refusal"),
])
def test_config_errors_name_the_problem(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(TrustbenchError, match=message):
        load_config(f)


def test_unknown_judge_kind_in_config(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[judges]\nvibes = "x"\n')
    with pytest.raises(TrustbenchError, match="unknown kind 'vibes'"):
        _judge_specs(None, load_config(f))
    with pytest.raises(TrustbenchError, match="not found"):
        load_config(tmp_path / "missing.toml")
