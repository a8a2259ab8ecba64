"""The model-backend interface: requests in, responses out, as they complete."""

from __future__ import annotations

import hashlib
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ..core import Request, Response


class ModelBackend(ABC):
    """Turns requests into responses. `id` identifies the model and its fixed settings in cache keys."""

    id: str

    @abstractmethod
    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        """Yield (request, response) pairs as they complete, in any order.

        A per-item failure yields a Response with `text=None` and `error` set; a failure that
        makes every further request pointless (model cannot load, server gone for good) raises.
        """

    def close(self) -> None:
        """Release the model (threads, sockets, memory)."""

    def info(self) -> dict[str, Any]:
        """What results.json should record about the model beyond its id: for llamacpp the chat template
        (None | "gguf" | "user-supplied:NAME") and decoding path, for openai what the server says it serves,
        its fingerprint and the sampling settings sent. JSON-serialisable; keys vary by backend."""
        return {"id": self.id}

    def render(self, prompt: str, max_tokens: int = 512) -> str:
        """The prompt exactly as the model receives it (chat template applied, over-long text cut), so
        items.jsonl can record what was sent (`max_tokens` sets how much room a long prompt leaves the answer).
        Backends whose server applies the template return the prompt as given."""
        return prompt


def notice(message: str) -> None:
    """A one-line note for the user on stderr (plain text: never markup, never mixed into stdout results)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def fit_prompt(
    prompt: str, budget: int, render: Callable[[str], list[int]], encode: Callable[[str], list[int]],
    decode: Callable[[list[int]], str],
) -> tuple[str, list[int]]:
    """(user text, rendered tokens) within `budget` tokens: the middle of an over-long user text is cut out.

    The head (instructions) and tail (the question) of a prompt matter most; the chat template stays whole.
    If even an empty user text does not fit, the tokens returned are still over budget: the caller fails the item.
    """
    content, toks = prompt, render(prompt)
    ids, drop = encode(prompt), 0
    while len(toks) > budget and drop < len(ids):
        drop = min(len(ids), drop + len(toks) - budget + 8)
        keep = len(ids) - drop
        content = decode(ids[: keep // 2]) + "\n...\n" + decode(ids[len(ids) - (keep - keep // 2) :])
        toks = render(content)
    return content, toks


def file_digest(path: Path) -> str:
    """Short content digest (size + first and last MiB): identifies weights without hashing gigabytes."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        h.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        h.update(fh.read())
    return h.hexdigest()[:12]
