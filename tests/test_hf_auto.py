"""The hf backend's GPU defaults, checked on CPU: batch=auto sizing arithmetic, and the static-cache path
(what compile=true uses on CUDA) giving the plain path's greedy outputs on a tiny random Llama."""

from __future__ import annotations

import pytest
from test_models import QUESTIONS, reqs, run, tiny_llama  # noqa: F401  (tiny_llama is a fixture)

from trustbench.errors import TrustbenchError
from trustbench.models import load_backend

transformers = pytest.importorskip("transformers")


def _llama_8b_shape():
    return transformers.LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                                    num_attention_heads=32, num_key_value_heads=8)


def test_kv_bytes_and_auto_batch_arithmetic():
    from trustbench.models.hf import AUTO_MAX_BATCH, auto_batch, kv_bytes_per_token

    cfg = _llama_8b_shape()
    assert kv_bytes_per_token(cfg, 2) == 2 * 32 * 8 * 128 * 2 == 131072  # 128 KiB per token in bf16
    per_seq = 131072 * 1000 + 1000 * (2 * 14336 + 4 * 4096) * 2 + 128256 * 8
    assert auto_batch(10 * per_seq, cfg, 2, 1000) == int(10 * per_seq * 0.85) // per_seq == 8
    assert auto_batch(10**15, cfg, 2, 1000) == AUTO_MAX_BATCH
    assert auto_batch(1, cfg, 2, 1000) == 1
    tiny = transformers.LlamaConfig(vocab_size=400, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2)
    assert kv_bytes_per_token(tiny, 4) == 2 * 2 * 2 * 16 * 4


def test_batch_option_and_compile_needs_cuda(tiny_llama):  # noqa: F811
    backend = load_backend(f"hf:{tiny_llama},device=cpu")
    assert backend.auto and backend._group_batch(5000) == 8  # batch=auto off CUDA is 8
    fixed = load_backend(f"hf:{tiny_llama},device=cpu,batch=3")
    assert not fixed.auto and fixed._group_batch(10) == 3
    assert fixed.id == backend.id  # batching never changes the identity
    with pytest.raises(TrustbenchError, match="'auto' or a number"):
        load_backend(f"hf:{tiny_llama},batch=lots")
    with pytest.raises(TrustbenchError, match="batch must be >= 1"):
        load_backend(f"hf:{tiny_llama},batch=0")
    with pytest.raises(TrustbenchError, match="compile=true needs a CUDA device"):
        load_backend(f"hf:{tiny_llama},device=cpu,compile=true")


def test_static_cache_path_equals_the_plain_path_at_temperature_0(tiny_llama):  # noqa: F811
    prompts = [q * k for q, k in zip(QUESTIONS, (1, 3, 1, 2, 1))]  # different lengths: padding differs by path
    plain = run(load_backend(f"hf:{tiny_llama},batch=4,device=cpu,dtype=float32"), reqs(prompts, max_tokens=10))
    static = load_backend(f"hf:{tiny_llama},batch=4,device=cpu,dtype=float32")
    static.static = True  # what compile=true sets on CUDA; on CPU transformers does not compile it
    assert run(static, reqs(prompts, max_tokens=10)) == plain
    assert len({t for t, _ in plain.values()}) > 1


def test_static_path_really_uses_a_static_cache(tiny_llama, monkeypatch):  # noqa: F811
    seen = []
    original = transformers.StaticCache.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("max_cache_len"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(transformers.StaticCache, "__init__", spy)
    backend = load_backend(f"hf:{tiny_llama},batch=4,device=cpu,dtype=float32")
    backend.static = True
    run(backend, reqs(QUESTIONS[:2], max_tokens=5))
    assert seen and all(n is not None and n >= 64 for n in seen)  # prompts padded to a power of two, >= 64
