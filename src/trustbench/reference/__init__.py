"""Published figures to rank a run against: the TrustLLM paper's results for its 16 models.

The figures were transcribed from the paper's leaderboard tables and are mapped to trustbench task ids and
metric names. They come from the original judges (GPT-4, Longformer, Perspective, OpenAI embeddings), so a
rank against them is indicative: every view that shows them says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Mapping

from ..errors import TrustbenchError

KNOWN = ("trustllm-paper",)


@dataclass(frozen=True)
class Entry:
    """One published column: a paper metric, the trustbench task+metric it corresponds to, and the values."""

    dimension: str
    paper_metric: str
    direction: Literal["higher", "lower"]
    task: str
    metric: str
    values: dict[str, float]
    alternatives: tuple[dict[str, Any], ...] = ()
    note: str = ""

    def run_value(self, task_result: Mapping[str, Any] | None) -> tuple[float | None, str | None]:
        """This entry's value in a run's task result, and the metric it came from (None when absent).

        A run may report the complement of the published metric (e.g. compat mode's answer_rate = 1 − RtA).
        """
        if not task_result:
            return None, None
        metrics = task_result.get("metrics", {})
        for alt in ({"metric": self.metric}, *self.alternatives):
            m = metrics.get(alt["metric"])
            if m is not None:
                v = m.get("value")
                if v is None:
                    return None, alt["metric"]
                return (1 - v if alt.get("complement") else v), alt["metric"] + (" (as 1 − value)" if alt.get("complement") else "")
        return None, None

    def rank(self, value: float) -> int:
        """1-based position the value would take among the published models (ties go in front)."""
        better = [v for v in self.values.values() if (v > value if self.direction == "higher" else v < value)]
        return len(better) + 1


@dataclass(frozen=True)
class Reference:
    id: str
    title: str
    source: str
    judges: str
    models: tuple[str, ...]
    entries: tuple[Entry, ...]

    def for_task(self, task_id: str) -> list[Entry]:
        return [e for e in self.entries if e.task == task_id]


def load_reference(name: str = "trustllm-paper") -> Reference:
    """The packaged reference table called `name`."""
    if name not in KNOWN:
        raise TrustbenchError(f"--reference: unknown reference '{name}'; known: {', '.join(KNOWN)}")
    raw = json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    entries = tuple(
        Entry(e["dimension"], e["paper_metric"], e["direction"], e["task"], e["metric"], dict(e["values"]),
              tuple(e.get("alternatives", ())), e.get("note", ""))
        for e in raw["entries"]
    )
    return Reference(raw["id"], raw["title"], raw["source"], raw["judges"], tuple(raw["models"]), entries)
