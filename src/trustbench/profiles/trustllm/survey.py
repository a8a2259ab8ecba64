"""The survey authors' original scoring rules (trustllm profile overrides of the survey studies)."""

from __future__ import annotations

from typing import Mapping, Sequence

from ...core import Response, Sample, Verdict
from ...tasks.base import ScoringContext, Task
from ...tasks.survey.causal import CausalReasoning, judge_with, original_letter
from . import TRUSTLLM


@TRUSTLLM.judge_for("survey/causal")
def causal(task: Task, samples: Sequence[Sample], responses: Mapping[str, Response],
           ctx: ScoringContext) -> list[Verdict]:
    """The authors' letter rule: exactly one 'A)' or 'B)'."""
    assert isinstance(task, CausalReasoning)
    return judge_with(task, samples, responses, lambda s, text: original_letter(text), original_letter.id)
