"""The plain values that flow through the pipeline: sample -> request -> response -> verdict.

Each is a small dataclass so every stage can be built and tested alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping


def stable_hash(*parts: Any) -> str:
    """SHA-256 over a canonical JSON encoding: the content address used by the store."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings for one task file (TrustLLM spec §6.3: temperature 0 or 1, 512 new tokens)."""

    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0
    n: int = 1  # sample index for studies that draw several samples of one prompt

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Sample:
    """One benchmark item: its id, the prompt, and the original dataset record."""

    id: str  # "<file>#<record index>", stable across runs
    index: int  # position of the record in its data file
    prompt: str
    record: Mapping[str, Any] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Request:
    """What a model backend is asked to do; `key` addresses its response in the store."""

    key: str
    prompt: str
    settings: GenerationSettings


@dataclass
class Response:
    """A model's answer. `text is None` means generation failed (the error says why)."""

    text: str | None
    tokens: int = 0
    error: str | None = None
    cached: bool = False


@dataclass
class Verdict:
    """A judged item (or judged unit, e.g. an AdvGLUE pair): what the metrics aggregate.

    `values` holds the parsed answer and the judgements (`correct`, `refused`, `valid`, `similarity`...),
    `judge` names what produced them, `groups` the keys used for breakdowns.
    """

    sample_id: str
    values: dict[str, Any]
    judge: str
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return bool(self.values.get("valid", True))
