"""Model backends and the one model-spec syntax that picks them.

SPEC: `smollm2` (the embedded default) | `llamacpp:PATH.gguf`
"""

from __future__ import annotations

from ..errors import TrustbenchError
from .base import ModelBackend

DEFAULT_MODEL = "smollm2"


def load_backend(spec: str | None = None) -> ModelBackend:
    spec = spec or DEFAULT_MODEL
    kind, _, rest = spec.partition(":")
    if spec in ("smollm2", "default") or (kind == "llamacpp" and not rest):
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend()
    if kind == "llamacpp":
        from .llamacpp import LlamaCppBackend

        return LlamaCppBackend(rest)
    raise TrustbenchError(f"Unknown model spec '{spec}'. Use smollm2 or llamacpp:PATH.gguf")


__all__ = ["DEFAULT_MODEL", "ModelBackend", "load_backend"]
