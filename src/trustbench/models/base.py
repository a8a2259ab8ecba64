"""The model-backend interface: requests in, responses out, as they complete."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, Iterator, Sequence

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
