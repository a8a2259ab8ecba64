"""Published figures to rank a run against.

`trustllm-paper`: the TrustLLM paper's results for its 16 models, transcribed from its leaderboard tables and
mapped to trustbench task ids and metric names. They come from the original judges (GPT-4, Longformer,
Perspective, OpenAI embeddings), so a rank against them is indicative: every view that shows them says so.
`survey-published`: the "Trustworthy LLMs" authors' figures (causal, safety, fairness, typo), computed when
asked from their released files (the survey data root), never stored here. Names combine with commas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, Mapping

from ..errors import TrustbenchError

KNOWN = ("trustllm-paper", "survey-published")


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
    """The reference table called `name`, or several merged ('trustllm-paper,survey-published')."""
    names = [n.strip() for n in name.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN]
    if unknown or not names:
        raise TrustbenchError(f"--reference: unknown reference '{','.join(unknown) or name}'; known: {', '.join(KNOWN)}")
    refs = [_survey_published() if n == "survey-published" else _packaged(n) for n in names]
    if len(refs) == 1:
        return refs[0]
    return Reference(",".join(r.id for r in refs), " + ".join(r.title for r in refs), "; ".join(r.source for r in refs),
                     " ".join(r.judges for r in refs), tuple(m for r in refs for m in r.models),
                     tuple(e for r in refs for e in r.entries))


def _packaged(name: str) -> Reference:
    raw = json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    entries = tuple(
        Entry(e["dimension"], e["paper_metric"], e["direction"], e["task"], e["metric"], dict(e["values"]),
              tuple(e.get("alternatives", ())), e.get("note", ""))
        for e in raw["entries"]
    )
    return Reference(raw["id"], raw["title"], raw["source"], raw["judges"], tuple(raw["models"]), entries)


def _survey_published() -> Reference:
    """The survey authors' figures from their release (TRUSTBENCH_SURVEY_DATA or the cache)."""
    from ..data import resolve_survey_dir
    from ..tasks.survey import published_figures

    root = resolve_survey_dir(None)
    entries, models = [], []
    for task, fig in published_figures(root).items():
        metrics = sorted({m for vals in fig["models"].values() for m in vals if m != "n"})
        for metric in metrics:
            values = {model: vals[metric] for model, vals in fig["models"].items() if vals.get(metric) is not None}
            models += [m for m in values if m not in models]
            entries.append(Entry("survey", metric, "higher", task, metric, values,
                                 note=f"Survey authors' figure, computed from {fig['source']}."))
    return Reference("survey-published", "Trustworthy LLMs (Liu et al. 2023): the authors' released results",
                     str(root), "Safety, fairness and typo labels are GPT-4's judgements; causal figures are the "
                     "authors' scripted answer matching.", tuple(models), tuple(entries))
