"""The plain values that flow through the pipeline: sample -> request -> response -> verdict.

Each is a small dataclass so every stage can be built and tested alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from enum import Enum
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


class Status(str, Enum):
    """What became of one judged item; only `scored` items (and `invalid` ones where a metric says how they
    count) ever enter a number. `failed` (no response) and `unjudged` (the judge failed or is absent) never do."""

    SCORED = "scored"  # answered and judged: label/score/correct hold the judgement
    INVALID = "invalid"  # answered, but not parseable (or refused where that is invalid): `reason` says why
    FAILED = "failed"  # no response: generation failed
    UNJUDGED = "unjudged"  # answered, but the judge failed or none is configured: `reason` says why


@dataclass
class Verdict:
    """A judged item (or judged unit, e.g. an AdvGLUE pair): what the metrics aggregate.

    `label` is the parsed answer or class (e.g. an option letter, "refusal"/"answer"), `score` a numeric
    judgement (similarity, toxicity, rating), `correct` whether the answer matches the gold one. `extras`
    keeps task-specific fields (gold, pair members...) for breakdowns and the report; `groups` the keys
    used for breakdowns; `judge` what produced the verdict.
    """

    sample_id: str
    status: Status
    judge: str
    label: str | None = None
    score: float | None = None
    correct: bool | None = None
    reason: str | None = None
    groups: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        return self.status is Status.SCORED

    @property
    def answered(self) -> bool:
        """A response exists (scored or invalid or unjudged)."""
        return self.status is not Status.FAILED

    @property
    def refused(self) -> bool | None:
        """For refusal verdicts: whether the judge called it a refusal (None unless scored)."""
        return None if self.status is not Status.SCORED else self.label == "refusal"

    @classmethod
    def failed(cls, sample_id: str, judge: str, reason: str = "no response (generation failed)", **kw: Any) -> "Verdict":
        return cls(sample_id, Status.FAILED, judge, reason=reason, **kw)

    @classmethod
    def invalid(cls, sample_id: str, judge: str, reason: str, **kw: Any) -> "Verdict":
        return cls(sample_id, Status.INVALID, judge, reason=reason, **kw)

    @classmethod
    def unjudged(cls, sample_id: str, judge: str, reason: str, **kw: Any) -> "Verdict":
        return cls(sample_id, Status.UNJUDGED, judge, reason=reason, **kw)

    def as_dict(self) -> dict[str, Any]:
        """The verdict as stored in items.jsonl."""
        out: dict[str, Any] = {"status": self.status.value}
        for key in ("label", "score", "correct", "reason"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.extras:
            out["extras"] = self.extras
        return out

    @classmethod
    def from_dict(cls, sample_id: str, d: Mapping[str, Any], judge: str, groups: Mapping[str, str]) -> "Verdict":
        """Inverse of `as_dict` (items.jsonl -> Verdict), for the report."""
        return cls(sample_id, Status(d.get("status", "scored")), judge, d.get("label"), d.get("score"),
                   d.get("correct"), d.get("reason"), dict(groups or {}), dict(d.get("extras") or {}))
