"""Model backends and the one model-spec syntax that picks them.

    SPEC   := "smollm2" | KIND ":" TARGET ("," KEY "=" VALUE)*

    smollm2                        the embedded default (SmolLM2-135M-Instruct GGUF, llama.cpp in-process)
    llamacpp:PATH.gguf             any GGUF file; options ctx (KV cells per sequence, default 4096),
                                   parallel (sequences decoded together, 8), threads (default: cores not busy
                                   with other work), batch (512), gpu_layers
    hf:NAME_OR_PATH                any transformers causal LM (hub name or local folder); options
                                   dtype (auto|float32|float16|bfloat16), device (auto|cpu|cuda|cuda:1|mps),
                                   batch (prompts per forward pass, 8), revision, trust_remote_code
    vllm:NAME                      vLLM's offline engine; options tp (tensor_parallel_size), dtype,
                                   max_model_len, gpu_memory_utilization, trust_remote_code
    openai:MODEL[@URL]             any OpenAI-compatible chat endpoint (URL default https://api.openai.com/v1;
                                   vLLM serve, Ollama, llama.cpp server, TGI: their /v1 URL); options
                                   key_env (environment variable holding the key, default OPENAI_API_KEY),
                                   concurrency (requests in flight, 16), rpm (requests per minute, 0 = no limit),
                                   timeout (seconds per request, 600), retries (per request, 8)

Examples: `hf:Qwen/Qwen2.5-0.5B-Instruct,dtype=bfloat16,device=cuda`,
`openai:llama3.1@http://127.0.0.1:11434/v1,concurrency=4`, `llamacpp:~/models/phi.gguf,ctx=8192`.
Options given to `load_backend` as keywords (e.g. from a config file) override those in the spec.
API keys are read from the environment only; they never appear in a spec, a backend id or a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import TrustbenchError
from .base import ModelBackend

DEFAULT_MODEL = "smollm2"

_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

# kind -> option name -> type; the constructor keyword is the option name
OPTIONS: dict[str, dict[str, type]] = {
    "llamacpp": {"ctx": int, "parallel": int, "threads": int, "batch": int, "gpu_layers": int},
    "hf": {"dtype": str, "device": str, "batch": int, "revision": str, "trust_remote_code": bool},
    "vllm": {"tp": int, "dtype": str, "max_model_len": int, "gpu_memory_utilization": float, "trust_remote_code": bool},
    "openai": {"key_env": str, "concurrency": int, "rpm": float, "timeout": float, "retries": int},
}


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: backend kind, its target (path, name, MODEL@URL) and typed options."""

    kind: str
    target: str
    options: dict[str, Any] = field(default_factory=dict)


def _convert(spec: str, kind: str, key: str, value: Any) -> Any:
    allowed = OPTIONS[kind]
    if key not in allowed:
        raise TrustbenchError(f"Model spec '{spec}': unknown option '{key}' for {kind}; options: {', '.join(allowed)}")
    typ = allowed[key]
    if isinstance(value, typ) and not (typ is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    try:
        if typ is bool:
            return _BOOL[text.lower()]
        return typ(text)
    except (KeyError, ValueError):
        raise TrustbenchError(f"Model spec '{spec}': option {key}={text!r} should be {typ.__name__}") from None


def parse_spec(spec: str | None, **options: Any) -> ModelSpec:
    """Split `KIND:TARGET,key=value,...` into a ModelSpec; keyword options override the spec's."""
    spec = (spec or DEFAULT_MODEL).strip()
    head, *parts = spec.split(",")
    if head in ("smollm2", "default"):
        kind, target = "llamacpp", ""
    else:
        kind, sep, target = head.partition(":")
        if not sep or kind not in OPTIONS:
            raise TrustbenchError(
                f"Unknown model spec '{spec}'. Use smollm2, llamacpp:PATH.gguf, hf:NAME_OR_PATH, vllm:NAME "
                "or openai:MODEL[@URL], each optionally followed by ,key=value options"
            )
        if not target and kind != "llamacpp":
            raise TrustbenchError(f"Model spec '{spec}': {kind}: needs a model name after the colon")
    opts: dict[str, Any] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise TrustbenchError(f"Model spec '{spec}': expected key=value after a comma, got '{part}'")
        opts[key.strip()] = _convert(spec, kind, key.strip(), value)
    for key, value in options.items():
        if value is not None:
            opts[key] = _convert(spec, kind, key, value)
    return ModelSpec(kind, target.strip(), opts)


def _llamacpp(s: ModelSpec) -> ModelBackend:
    from .llamacpp import LlamaCppBackend

    return LlamaCppBackend(s.target or None, **s.options)


def _hf(s: ModelSpec) -> ModelBackend:
    from .hf import HFBackend

    return HFBackend(s.target, **s.options)


def _vllm(s: ModelSpec) -> ModelBackend:
    from .vllm import VLLMBackend

    return VLLMBackend(s.target, **s.options)


def _openai(s: ModelSpec) -> ModelBackend:
    from .openai import OpenAIBackend

    model, _, url = s.target.partition("@")
    return OpenAIBackend(model, url or None, **s.options)


_FACTORIES: dict[str, Callable[[ModelSpec], ModelBackend]] = {
    "llamacpp": _llamacpp, "hf": _hf, "vllm": _vllm, "openai": _openai,
}


def load_backend(spec: str | None = None, **options: Any) -> ModelBackend:
    """The backend a spec names, loaded and ready; options (e.g. from a config file) override the spec's."""
    parsed = parse_spec(spec, **options)
    return _FACTORIES[parsed.kind](parsed)


__all__ = ["DEFAULT_MODEL", "ModelBackend", "ModelSpec", "OPTIONS", "load_backend", "parse_spec"]
