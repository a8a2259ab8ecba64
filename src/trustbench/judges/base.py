"""The judge interface: batched, cached in the store under the judge's identity and version."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, ClassVar, Sequence

if TYPE_CHECKING:
    from ..store import Store


@dataclass(frozen=True)
class JudgeInput:
    """What is judged: the model's response, with the prompt (and any judge-specific extras)."""

    response: str
    prompt: str = ""
    extra: tuple[tuple[str, str], ...] = ()


@dataclass
class Judgement:
    """A judge's answer. `error` set means the judge failed: never cached, retried on the next run."""

    label: str | None
    score: float | None = None
    raw: str | None = None
    error: str | None = None


class Judge(ABC):
    kind: ClassVar[str]
    name: str = "unnamed"
    version: str = "1"

    def __init__(self, store: "Store | None" = None):
        self.store = store

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}@{self.version}"

    def judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Judge items, reusing stored verdicts of this exact judge; failures are not stored."""
        from ..store import verdict_key

        keys = [verdict_key(self.id, asdict(it)) for it in items]
        cached = self.store.get_verdicts(keys) if self.store else {}
        todo = [i for i, k in enumerate(keys) if k not in cached]
        fresh = self._judge([items[i] for i in todo]) if todo else []
        if len(fresh) != len(todo):
            raise RuntimeError(f"judge {self.id} returned {len(fresh)} results for {len(todo)} inputs")
        out: list[Judgement | None] = [None] * len(items)
        for i, k in enumerate(keys):
            if k in cached:
                out[i] = Judgement(**cached[k])
        rows = []
        for i, j in zip(todo, fresh):
            out[i] = j
            if j.error is None:
                rows.append((keys[i], self.id, asdict(items[i]), asdict(j)))
        if self.store and rows:
            self.store.put_verdicts(rows)
        return out  # type: ignore[return-value]

    @abstractmethod
    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        """Judge items that are not in the store."""
