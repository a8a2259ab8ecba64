"""Model backends and the one model-spec syntax that picks them.

    SPEC   := "smollm2" | KIND ":" TARGET ("," KEY "=" VALUE)*

    smollm2                        the embedded default (SmolLM2-135M-Instruct GGUF, llama.cpp in-process)
    llamacpp:PATH.gguf             any GGUF file; options ctx (KV cells per sequence, default 4096),
                                   parallel (sequences decoded together: N > 1 selects the batched path, 8
                                   there; the default invariant path decodes 1), threads (default: cores not busy
                                   with other work), batch (512), gpu_layers, deterministic (true: greedy text
                                   independent of batching and cache, see llamacpp.py; false: the faster batched
                                   path), chat_template (a Jinja file, or a name: chatml, llama-3, ...)
    hf:NAME_OR_PATH                any transformers causal LM (hub name or local folder); options
                                   dtype (auto|float32|float16|bfloat16), device (auto|cpu|cuda|cuda:1|mps),
                                   batch (prompts per forward pass; auto = sized to free GPU memory on CUDA,
                                   8 elsewhere), revision, trust_remote_code, compile (static KV cache +
                                   torch.compile, CUDA only)
    vllm:NAME                      vLLM's offline engine; options tp (tensor_parallel_size), dtype,
                                   max_model_len, gpu_memory_utilization, trust_remote_code
    openai:MODEL[@URL]             any OpenAI-compatible chat endpoint (URL default https://api.openai.com/v1;
                                   vLLM serve, Ollama, llama.cpp server, TGI: their /v1 URL); options
                                   key_env (environment variable holding the key, default OPENAI_API_KEY),
                                   concurrency (requests in flight, 16), rpm (requests per minute, 0 = no limit),
                                   timeout (seconds per request, 600), retries (per request, 8), neutral (true:
                                   send neutral sampling settings, see openai.py), fingerprint (true: probe the
                                   server's system_fingerprint into the cache identity)
    param.NAME=VALUE               (openai, llamacpp) a sampling/body field sent as given, VALUE read as JSON
                                   (param.repeat_penalty=1.1, param.top_k=40); overrides the neutral settings
    echo                           no model: answers each prompt with itself; options text (a fixed answer
                                   instead), latency (seconds per request), fail_every, log (see scripted.py)
    scripted:FILE.json             no model: answers by regex rules from a JSON file (see scripted.py); options
                                   latency, fail_every, log

Examples: `hf:Qwen/Qwen2.5-0.5B-Instruct,dtype=bfloat16,device=cuda`,
`openai:llama3.1@http://127.0.0.1:11434/v1,concurrency=4`, `llamacpp:~/models/phi.gguf,ctx=8192`.
Options given to `load_backend` as keywords (e.g. from a config file) override those in the spec.
API keys are read from the environment only; they never appear in a spec, a backend id or a result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import TrustbenchError
from .base import ModelBackend

DEFAULT_MODEL = "smollm2"

_BOOL = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

# kind -> option name -> type; the constructor keyword is the option name
OPTIONS: dict[str, dict[str, type]] = {
    "llamacpp": {"ctx": int, "parallel": int, "threads": int, "batch": int, "gpu_layers": int, "deterministic": bool,
                 "chat_template": str, "params": dict},
    "hf": {"dtype": str, "device": str, "batch": str, "revision": str, "trust_remote_code": bool, "compile": bool},
    "vllm": {"tp": int, "dtype": str, "max_model_len": int, "gpu_memory_utilization": float, "trust_remote_code": bool},
    "openai": {"key_env": str, "concurrency": int, "rpm": float, "timeout": float, "retries": int, "neutral": bool,
               "fingerprint": bool, "params": dict},
    "echo": {"text": str, "latency": float, "fail_every": int, "log": str},
    "scripted": {"latency": float, "fail_every": int, "log": str},
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


def _param_value(spec: str, key: str, value: str) -> Any:
    """A `param.NAME=VALUE` value: JSON where it parses (1.1, 40, true, null, "x"), else the text itself."""
    if not key[6:]:
        raise TrustbenchError(f"Model spec '{spec}': 'param.' needs a field name, e.g. param.repeat_penalty=1.1")
    try:
        return json.loads(value)
    except ValueError:
        return value.strip()


def parse_spec(spec: str | None, **options: Any) -> ModelSpec:
    """Split `KIND:TARGET,key=value,...` into a ModelSpec; keyword options override the spec's.

    Errors show the spec with credentials masked (a key in a URL's userinfo or query)."""
    from ..secrets import mask, register_in

    register_in(spec)  # masked from here on in every message, file and log
    try:
        return _parse_spec(spec, **options)
    except TrustbenchError as exc:
        raise TrustbenchError(mask(str(exc))) from None


def _parse_spec(spec: str | None, **options: Any) -> ModelSpec:
    spec = (spec or DEFAULT_MODEL).strip()
    head, *parts = spec.split(",")
    if head in ("smollm2", "default"):
        kind, target = "llamacpp", ""
    elif head == "echo":
        kind, target = "echo", ""
    else:
        kind, sep, target = head.partition(":")
        if sep and kind not in OPTIONS and _plugin(kind) is not None:  # a `trustbench.backends` entry point
            plugin_opts = dict(part.partition("=")[::2] for part in parts)
            plugin_opts.update({k: str(v) for k, v in options.items() if v is not None})
            return ModelSpec(kind, target.strip(), plugin_opts)
        if not sep or kind not in OPTIONS:
            raise TrustbenchError(
                f"Unknown model spec '{spec}'. Use smollm2, llamacpp:PATH.gguf, hf:NAME_OR_PATH, vllm:NAME, "
                "openai:MODEL[@URL], echo or scripted:FILE.json, each optionally followed by ,key=value options"
            )
        if not target and kind not in ("llamacpp", "echo"):
            raise TrustbenchError(f"Model spec '{spec}': {kind}: needs a model name after the colon")
    opts: dict[str, Any] = {}
    for part in parts:
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise TrustbenchError(f"Model spec '{spec}': expected key=value after a comma, got '{part}'")
        if key.strip().startswith("param.") and "params" in OPTIONS[kind]:
            opts.setdefault("params", {})[key.strip()[6:]] = _param_value(spec, key.strip(), value)
            continue
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


def _echo(s: ModelSpec) -> ModelBackend:
    from .scripted import EchoBackend

    return EchoBackend(**s.options)


def _scripted(s: ModelSpec) -> ModelBackend:
    from .scripted import ScriptedBackend

    return ScriptedBackend(s.target, **s.options)


_FACTORIES: dict[str, Callable[[ModelSpec], ModelBackend]] = {
    "llamacpp": _llamacpp, "hf": _hf, "vllm": _vllm, "openai": _openai, "echo": _echo, "scripted": _scripted,
}


def _plugin(kind: str) -> Callable[[str, dict[str, str]], ModelBackend] | None:
    from ..plugins import backend_factory

    return backend_factory(kind)


def load_backend(spec: str | None = None, **options: Any) -> ModelBackend:
    """The backend a spec names, loaded and ready; options (e.g. from a config file) override the spec's."""
    parsed = parse_spec(spec, **options)
    if parsed.kind not in _FACTORIES:
        return _plugin(parsed.kind)(parsed.target, parsed.options)  # type: ignore[misc]
    return _FACTORIES[parsed.kind](parsed)


__all__ = ["DEFAULT_MODEL", "ModelBackend", "ModelSpec", "OPTIONS", "load_backend", "parse_spec"]
