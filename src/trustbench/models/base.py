"""The model-backend interface: requests in, responses out, as they complete."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator, Sequence

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
