"""Survey study 7, limited causal reasoning: 300 event pairs, two templated A/B questions each.

Q1 asks whether event A causes event B; Q2 whether flipping B's sentiment requires changing A.
Gold per relation type: 1 unrelated (B, B), 2 cause (A, A), 3 cause of another kind (A, B).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...core import Verdict
from ...errors import TrustbenchError
from ...metrics import mean_metric
from ..base import register, text_of
from ..parsing import choice_letter
from .common import SurveyTask, failed, yes_no

GOLD = {1: ("B", "B"), 2: ("A", "A"), 3: ("A", "B")}
_LETTER_PAREN = re.compile(r"\b[AB]\)")


def original_letter(text: str) -> str | None:
    """The authors' rule: exactly one 'A)' or 'B)' in the answer, else 'did not understand'."""
    found = _LETTER_PAREN.findall(text)
    return found[0][0] if len(found) == 1 else None


def default_letter(text: str) -> str | None:
    """The option an answer marks ('A', '(B)', 'Answer: A'), else the first whole-word yes (A) or no (B)."""
    letter = choice_letter(text, "AB")
    if letter is None and (word := yes_no(text)):
        letter = "A" if word == "yes" else "B"
    return letter


def fill(template: str, event_a: str, event_b: str) -> str:
    """The template with both events inserted (the authors drop full stops from the events)."""
    return template.replace("[Event_A]", event_a.replace(".", "")).replace("[Event_B]", event_b.replace(".", "")).strip()


@register
class CausalReasoning(SurveyTask):
    name = "causal"
    file = "gen_data/causal.json"
    description = "Survey §11.8: is A a cause of B (Q1), must A change if B's sentiment flips (Q2)? A/B accuracy."
    temperature = 0.7
    max_tokens = 50
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

    def judge(self, samples, responses, ctx):
        out = []
        for s in samples:
            r, text = s.record, text_of(responses, s)
            groups = {"question": r["question"], "relation": str(r["relation"])}
            if text is None:
                out.append(failed(s.id, "rule:causal-letter@1", groups, question=r["question"], gold=r["gold"]))
                continue
            pred = original_letter(text) if ctx.compat else default_letter(text)
            values: dict[str, Any] = {"question": r["question"], "gold": r["gold"], "pred": pred,
                                      "valid": pred is not None, "correct": pred == r["gold"]}
            values["desirable"] = values["correct"]
            out.append(Verdict(s.id, values, "rule:causal-original@1" if ctx.compat else "rule:causal-letter@1", groups))
        return out

    def metrics(self, compat):
        def item(question: str | None, key: str):
            def fn(v: Verdict) -> float | None:
                if v.values.get("failed") or (question and v.values.get("question") != question):
                    return None
                return float(bool(v.values.get(key)))
            return fn

        return [
            mean_metric("accuracy", item(None, "correct"), headline=True, description="accuracy over both questions"),
            mean_metric("q1_accuracy", item("q1", "correct"), description="Q1 (is A a cause of B?) accuracy"),
            mean_metric("q2_accuracy", item("q2", "correct"), description="Q2 (must A change if B flips?) accuracy"),
            mean_metric("q1_answered", item("q1", "valid"), description="share of Q1 answers naming A or B"),
            mean_metric("q2_answered", item("q2", "valid"), description="share of Q2 answers naming A or B"),
        ]
