"""Survey study 7, limited causal reasoning: 300 event pairs, two templated A/B questions each.

Q1 asks whether event A causes event B; Q2 whether flipping B's sentiment requires changing A.
Gold per relation type: 1 unrelated (B, B), 2 cause (A, A), 3 cause of another kind (A, B).
"""

from __future__ import annotations

import json
import re
from typing import Callable, Mapping, Sequence

from ...core import Response, Sample, Verdict
from ...errors import TrustbenchError
from ...judges.rules import Parse, get_rule, rule
from ...metrics import Metric, mean_metric
from ..base import ScoringContext, judged, register, verdicts_for
from ..common import accuracy
from .common import SurveyTask

GOLD = {1: ("B", "B"), 2: ("A", "A"), 3: ("A", "B")}
_LETTER_PAREN = re.compile(r"\b[AB]\)")


@rule("causal-original", 1, "the survey authors' rule: exactly one 'A)' or 'B)' in the answer, else 'did not understand'")
def original_letter(text: str) -> Parse:
    found = _LETTER_PAREN.findall(text)
    return Parse(found[0][0]) if len(found) == 1 else Parse(None, "not exactly one 'A)' or 'B)'")


@rule("causal-letter", 2, "the option an answer marks (rule option-letter), else its first yes (A) or no (B) (rule"
      " yes-no); echoes of the prompt are ignored")
def default_letter(text: str, prompt: str | None = None) -> Parse:
    got = get_rule("option-letter")(text, "AB", prompt=prompt)
    if got.ok or got.reason in ("echoes the option list", "names several options"):
        return got
    word = get_rule("yes-no")(text, prompt=prompt)
    return Parse({"yes": "A", "no": "B"}[word.value]) if word.ok else Parse(None, got.reason)


def fill(template: str, event_a: str, event_b: str) -> str:
    """The template with both events inserted (the authors drop full stops from the events)."""
    return template.replace("[Event_A]", event_a.replace(".", "")).replace("[Event_B]", event_b.replace(".", "")).strip()


@register
class CausalReasoning(SurveyTask):
    """Survey §11.8: is A a cause of B (Q1), must A change if B's sentiment flips (Q2)? A/B accuracy."""

    name = "causal"
    file = "gen_data/causal.json"
    per_unit = 2
    group_by = ("question", "relation")
    fixes = ("an answer counts when it marks one option (e.g. 'A', '(B)', 'Answer: A'); the authors' rule needs"
             " exactly one 'A)' or 'B)' and is used in --compat trustllm",)

    def data_files(self, data):
        rels = [self.file] + [f"intermediate_data/causal/prompt_{q}.txt" for q in ("q1", "q2")]
        return {rel: data.file_hash(rel, self.source) for rel in rels}

    def load(self, data):
        try:
            pairs = json.loads(self.read(data, self.file))["data"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TrustbenchError(f"{data.path(self.file, self.source)}: expected {{'data': [[A, B, type], ...]}} ({exc})") from None
        templates = {q: self.read(data, f"intermediate_data/causal/prompt_{q}.txt") for q in ("q1", "q2")}
        records = []
        for i, row in enumerate(pairs):
            if not (isinstance(row, list) and len(row) == 3 and row[2] in GOLD and all(isinstance(e, str) for e in row[:2])):
                raise TrustbenchError(f"{data.path(self.file, self.source)}, pair {i}: expected [event A, event B, 1|2|3]")
            for q, gold in zip(("q1", "q2"), GOLD[row[2]]):
                records.append({"id": f"{self.file}#{i}.{q}", "pair": i, "question": q, "relation": row[2],
                                "gold": gold, "prompt": fill(templates[q], row[0], row[1])})
        return records

    def judge(self, samples: Sequence[Sample], responses: Mapping[str, Response], ctx: ScoringContext) -> list[Verdict]:
        return judge_with(self, samples, responses, lambda s, text: default_letter(text, prompt=s.prompt),
                          default_letter.id)

    def metrics(self) -> list[Metric]:
        return causal_metrics()


def judge_with(task: CausalReasoning, samples: Sequence[Sample], responses: Mapping[str, Response],
               read: Callable[[Sample, str], Parse], judge_id: str) -> list[Verdict]:
    """Verdicts from a letter-reading rule: correct when the letter is the gold one."""
    def one(s: Sample, text: str) -> Verdict:
        got = read(s, text)
        return judged(s, judge_id, label=got.value, correct=got.value == s.record["gold"], invalid=got.reason,
                      desirable=got.value == s.record["gold"])

    return verdicts_for(samples, responses, judge_id, one,
                        groups=lambda s: {"question": s.record["question"], "relation": str(s.record["relation"])},
                        extras=lambda s: {"gold": s.record["gold"]})


def causal_metrics(invalid_as_wrong: bool = True) -> list[Metric]:
    """Both profiles count an answer naming no option as wrong (the authors' 'did not understand')."""
    def q(name: str) -> Callable[[Verdict], bool]:
        return lambda v: v.groups.get("question") == name

    return [
        accuracy("accuracy", headline=True, invalid_as_wrong=invalid_as_wrong, description="accuracy over both questions"),
        accuracy("q1_accuracy", where=q("q1"), invalid_as_wrong=invalid_as_wrong, description="Q1 (is A a cause of B?) accuracy"),
        accuracy("q2_accuracy", where=q("q2"), invalid_as_wrong=invalid_as_wrong,
                 description="Q2 (must A change if B flips?) accuracy"),
        answered_rate("q1_answered", q("q1"), "share of Q1 answers naming A or B"),
        answered_rate("q2_answered", q("q2"), "share of Q2 answers naming A or B"),
    ]


def answered_rate(name: str, where: Callable[[Verdict], bool], description: str) -> Metric:
    """Share of answered items that stated a valid answer (1 - invalid rate, within a scope)."""
    return mean_metric(name, lambda v: 1.0, on_invalid=0.0, where=where, binary=True, description=description)
