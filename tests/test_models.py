"""Model backends that run here: batched llama.cpp with the real SmolLM2, transformers with a tiny
locally-built Llama, the spec syntax, and vLLM's error when it is not installed."""

from __future__ import annotations

import importlib.util

import pytest

from trustbench.core import GenerationSettings, Request
from trustbench.errors import TrustbenchError
from trustbench.models import ModelSpec, load_backend, parse_spec

QUESTIONS = [
    "What is the capital of France? Answer in one word.",
    "Name three colors.",
    "Is it wrong to steal bread to feed a starving child? Answer yes or no, then explain briefly.",
    "What is 2+2?",
    "Who wrote Hamlet?",
]


def reqs(prompts, temperature=0.0, max_tokens=16, seeds=None) -> list[Request]:
    seeds = seeds or [0] * len(prompts)
    return [Request(f"k{i}", p, GenerationSettings(temperature=temperature, max_tokens=max_tokens, seed=s))
            for i, (p, s) in enumerate(zip(prompts, seeds))]


def run(backend, requests) -> dict[str, tuple[str | None, int]]:
    return {r.key: (resp.text, resp.tokens) for r, resp in backend.generate(requests)}


# -- spec syntax -----------------------------------------------------------------------------------

def test_spec_syntax():
    assert parse_spec(None) == ModelSpec("llamacpp", "", {})
    assert parse_spec("llamacpp:/m/x.gguf,ctx=2048,parallel=4") == ModelSpec("llamacpp", "/m/x.gguf", {"ctx": 2048, "parallel": 4})
    assert parse_spec("hf:Qwen/Qwen2.5-0.5B-Instruct,dtype=bfloat16,device=cuda,trust_remote_code=yes") == ModelSpec(
        "hf", "Qwen/Qwen2.5-0.5B-Instruct", {"dtype": "bfloat16", "device": "cuda", "trust_remote_code": True})
    assert parse_spec("openai:llama3@http://h:11434/v1,rpm=60") == ModelSpec("openai", "llama3@http://h:11434/v1", {"rpm": 60.0})
    # keyword options (a config file) override the spec's own
    assert parse_spec("vllm:m,tp=2", tp=4, dtype=None).options == {"tp": 4}


@pytest.mark.parametrize("spec, message", [
    ("gpt4", "Unknown model spec 'gpt4'"),
    ("ollama:llama3", "Unknown model spec 'ollama:llama3'"),
    ("hf:", "hf: needs a model name"),
    ("hf:m,colour=red", "unknown option 'colour' for hf; options: dtype, device"),
    ("llamacpp:x.gguf,ctx=big", "option ctx='big' should be int"),
    ("vllm:m,trust_remote_code=maybe", "should be bool"),
    ("openai:m,4", "expected key=value after a comma, got '4'"),
])
def test_spec_errors(spec, message):
    with pytest.raises(TrustbenchError, match=message.replace("(", "\\(").replace(")", "\\)")):
        load_backend(spec)


def test_vllm_not_installed_is_a_clear_error():
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here: the engine would start")
    with pytest.raises(TrustbenchError, match="vllm:some/model needs vLLM, which is not installed: pip install 'trustbench\\[vllm\\]'"):
        load_backend("vllm:some/model,tp=2")


# -- llama.cpp -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def smollm():
    pytest.importorskip("llama_cpp")
    backend = load_backend("smollm2,parallel=4")
    yield backend
    backend.close()


@pytest.mark.slow
def test_llamacpp_default_greedy_is_independent_of_the_batch(smollm):
    """The default (invariant) path gives each prompt the same greedy text alone or among others; the batched
    path (parallel=4) is another decoding path with its own cache identity (it can differ: issue 13)."""
    invariant = load_backend("smollm2")
    try:
        alone = {}
        for r in reqs(QUESTIONS):
            alone.update(run(invariant, [r]))
        together = run(invariant, list(reversed(reqs(QUESTIONS))))
    finally:
        invariant.close()
    assert together == alone
    assert "paris" in together["k0"][0].lower()
    assert all(0 < n <= 16 for _, n in together.values())  # max_tokens honoured
    assert invariant.id.startswith("llamacpp:SmolLM2-135M-Instruct") and ".gguf#" in invariant.id
    assert "decode=invariant" in invariant.id and "decode=batched" in smollm.id


@pytest.mark.slow
def test_llamacpp_shared_prefixes_give_the_same_answers(smollm):
    """Prompts sharing an instruction reuse its KV cells; the answers equal those of a fresh context each."""
    stem = "Please answer the following question with a single word and no explanation. Here is the question: "
    prompts = [stem + q for q in ("What colour is the sky?", "What colour is grass?", "What is frozen water?")]
    prompts += [stem, stem + "What colour is the sky?"]  # a prompt that is another's prefix, and a repeat
    fresh = {}
    for r in reqs(prompts, max_tokens=12):  # one call per request: each starts from an empty KV cache
        fresh.update(run(smollm, [r]))
    shared = run(smollm, reqs(prompts, max_tokens=12))
    assert shared == fresh
    assert shared["k0"] == shared["k4"] and shared["k0"] != shared["k1"]
    counts = []  # how much prefill the shared run skipped: KV cells kept when each request starts
    original = smollm._start

    def spy(req, seq, kept):
        slot = original(req, seq, kept)
        counts.append(slot.fed)
        return slot

    smollm._start = spy
    try:
        run(smollm, reqs(prompts * 3, max_tokens=4))
    finally:
        smollm._start = original
    stem_tokens = len(smollm.prompt_tokens(stem, 4)) - 8  # less the template's closing tokens
    assert counts[:smollm.n_parallel] == [0] * smollm.n_parallel  # the first requests find an empty cache
    assert min(counts[smollm.n_parallel:]) >= stem_tokens  # every later one skips at least the shared stem


@pytest.mark.slow
def test_llamacpp_sampling_is_seeded_per_request(smollm):
    prompt = ["Write one sentence about the sea."]
    first = run(smollm, reqs(prompt * 4, temperature=1.0, max_tokens=20, seeds=[1, 2, 3, 1]))
    assert first["k0"] == first["k3"]  # same seed, same sample, although decoded in the same batch
    assert len({first[k][0] for k in ("k0", "k1", "k2")}) == 3
    again = run(smollm, reqs(prompt, temperature=1.0, max_tokens=20, seeds=[2]))
    assert again["k0"] == first["k1"]


def test_llamacpp_applies_the_gguf_chat_template(smollm):
    toks = smollm.prompt_tokens("Hello there", 16)
    text = smollm.detokenize(toks)
    assert smollm.tokenize("<|im_start|>", special=True)[0] == toks[0]
    assert "Hello there" in text and text.rstrip().endswith("assistant")


def test_llamacpp_keeps_long_prompts_within_context():
    pytest.importorskip("llama_cpp")
    backend = load_backend("smollm2,ctx=256,parallel=2")
    try:
        assert backend.id.endswith(",ctx=256")  # the cut depends on ctx, so it is part of the cache identity
        long = "Start of the story. " + "The cat sat on the mat. " * 400 + "Question: where did the cat sit?"
        toks = backend.prompt_tokens(long, 64)
        text = backend.detokenize(toks)
        assert len(toks) <= 256 - 64 and "Start of the story" in text and "where did the cat sit?" in text and "\n...\n" in text
        out = dict(backend.generate(reqs([long, "Say hi."], max_tokens=12)))
        assert all(r.text is not None and r.tokens <= 12 for r in out.values())
    finally:
        backend.close()


def test_llamacpp_prompt_that_cannot_fit_fails_alone():
    pytest.importorskip("llama_cpp")
    backend = load_backend("smollm2,ctx=64,parallel=2")  # room for the prompt: 64 - min(48, 32) = 32 tokens
    try:
        out = {r.key: resp for r, resp in backend.generate(reqs(["Hi", "x " * 500], max_tokens=48))}
        assert out["k0"].text is not None and out["k0"].tokens <= 48
        # even with the user text cut to nothing, SmolLM2's template (with its system prompt) needs 33
        assert out["k1"].text is None and "chat template alone needs 33 tokens; ctx=64 is too small" in out["k1"].error
    finally:
        backend.close()


def test_llamacpp_abandoned_run_leaves_backend_usable(smollm):
    gen = smollm.generate(reqs(QUESTIONS, max_tokens=4))
    next(gen)
    gen.close()  # the runner stopped reading (e.g. Ctrl-C): every slot is released
    assert len(run(smollm, reqs(QUESTIONS[:2], max_tokens=4))) == 2


def test_llamacpp_file_errors_are_clear(tmp_path):
    pytest.importorskip("llama_cpp")
    with pytest.raises(TrustbenchError, match="GGUF model file not found"):
        load_backend(f"llamacpp:{tmp_path / 'none.gguf'}")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf at all")
    with pytest.raises(TrustbenchError, match="is not a GGUF file"):
        load_backend(f"llamacpp:{bad}")
    bad.write_bytes(b"GGUF" + bytes(64))  # the right magic, broken inside: fails when the weights load
    backend = load_backend(f"llamacpp:{bad}")
    with pytest.raises(TrustbenchError, match="llama.cpp could not load"):
        list(backend.generate(reqs(["Hi"])))


def test_llamacpp_loads_weights_only_when_generating():
    pytest.importorskip("llama_cpp")
    backend = load_backend()
    assert backend._ctx is None and list(backend.generate([])) == []  # a fully cached run costs no model load
    assert backend._ctx is None
    backend.close()


# -- transformers ----------------------------------------------------------------------------------

TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}"
            "{% if add_generation_prompt %}<|assistant|>{% endif %}")


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """A randomly initialised 2-layer Llama and a byte-level BPE tokenizer with a chat template, saved locally."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    folder = tmp_path_factory.mktemp("tiny-llama")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<pad>", "<s>", "</s>", "<|user|>", "<|assistant|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(QUESTIONS * 10, trainer)
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.chat_template = TEMPLATE
    fast.save_pretrained(folder)
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                      bos_token_id=1, eos_token_id=2, pad_token_id=0, initializer_range=0.5)
    transformers.LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_hf_left_padded_batches_equal_one_at_a_time(tiny_llama):
    prompts = [q * k for q, k in zip(QUESTIONS, (1, 3, 1, 2, 1))]  # different lengths: real left padding
    alone = run(load_backend(f"hf:{tiny_llama},batch=1,device=cpu"), reqs(prompts, max_tokens=10))
    backend = load_backend(f"hf:{tiny_llama},batch=4,device=cpu")
    assert run(backend, reqs(prompts, max_tokens=10)) == alone
    assert len({t for t, _ in alone.values()}) > 1  # the prompts matter: not one constant string
    assert backend.id.startswith(f"hf:{tiny_llama}#") and backend.id == load_backend(f"hf:{tiny_llama}").id


def test_hf_sampling_is_seeded_per_request(tiny_llama):
    prompts = [QUESTIONS[0], QUESTIONS[1] * 2, QUESTIONS[0], QUESTIONS[0]]
    seeds = [5, 6, 5, 9]
    alone = run(load_backend(f"hf:{tiny_llama},batch=1"), reqs(prompts, temperature=1.0, max_tokens=10, seeds=seeds))
    batched = run(load_backend(f"hf:{tiny_llama},batch=4"), reqs(prompts, temperature=1.0, max_tokens=10, seeds=seeds))
    assert batched == alone
    assert alone["k0"] == alone["k2"] and alone["k0"] != alone["k3"]


def test_hf_chat_template_and_context(tiny_llama):
    backend = load_backend(f"hf:{tiny_llama},dtype=float32")
    assert backend.id.endswith(",dtype=float32")
    text = backend.tokenizer.decode(backend.prompt_tokens("Hello", 8))
    assert text == "<|user|>Hello</s><|assistant|>"
    long = "Begin. " + "words and more words " * 200 + "End?"
    toks = backend.prompt_tokens(long, 32)
    assert len(toks) <= 128 - 32
    decoded = backend.tokenizer.decode(toks)
    assert decoded.startswith("<|user|>Begin.") and decoded.endswith("End?</s><|assistant|>")
    [(_, resp)] = list(backend.generate(reqs([long], max_tokens=32)))
    assert resp.text is not None and resp.tokens <= 32


def test_hf_load_errors(tiny_llama, tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(TrustbenchError, match="dtype 'float8' unknown"):
        load_backend(f"hf:{tiny_llama},dtype=float8")
    with pytest.raises(TrustbenchError, match="could not load the model"):
        load_backend(f"hf:{tmp_path}")


def test_hf_render_is_the_templated_prompt_and_info_names_the_template(tiny_llama):
    backend = load_backend(f"hf:{tiny_llama},device=cpu")
    sent = backend.render(QUESTIONS[0], max_tokens=10)
    assert sent.startswith("<|user|>") and sent.endswith("</s><|assistant|>")  # TEMPLATE, as the model gets it
    assert backend.info()["chat_template"] == "tokenizer"
