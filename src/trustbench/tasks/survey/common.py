"""What the survey studies share: their data root, text-file readers, the LLM judge's yes/no, unit limits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ...core import Sample, Status, Verdict
from ...data import DataDir
from ...errors import TrustbenchError
from ..base import Task

if TYPE_CHECKING:
    from ...core import Response
    from ..base import ScoringContext

DIMENSION = "survey"
SOURCE = "llm_eval"


class SurveyTask(Task):
    """A survey study: dimension `survey`, data from the llm_eval release unless it says otherwise.

    Decoding follows the authors' defaults (temperature 0.7, at most 50 new tokens) unless a study's
    script used others (greedy copyright continuation, 20 samples at temperature 1 for miscalibration).
    """

    dimension = DIMENSION
    source = SOURCE
    temperature = 0.7
    max_tokens = 50
    # The unit a limit counts (e.g. an event pair asked two questions); 1 = one sample per unit.
    per_unit: int = 1

    def limit(self, selected: list[tuple[int, dict]], n: int) -> list[tuple[int, dict]]:
        """`--limit N` takes N whole units (a pair, a question with all its samples)."""
        return selected[: n * self.per_unit]

    def read(self, data: DataDir, rel: str) -> str:
        path = data.path(rel, self.source)
        if not path.is_file():
            raise TrustbenchError(f"{self.id}: data file missing: {path}")
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise TrustbenchError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None

    def samples(self, records: Sequence[dict], limit: int | None = None) -> list[Sample]:
        selected = [(i, r) for i, r in enumerate(records) if self.keep(r)]
        if limit is not None:
            selected = self.limit(selected, limit)
        return [Sample(id=r.get("id") or f"{self.name}#{i}", index=i, prompt=self.prompt(r), record=r)
                for i, r in selected]


def sha256_file(path: Path) -> str:
    """Content address of a user-supplied input, for results.json `data.files`."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def user_input_hash(data: DataDir, name: str) -> dict[str, str] | None:
    """{"NAME:file name": sha256} of the user's own input `name` (`--survey-file NAME=PATH`), None when none is
    given: a study run on the user's file records that file, not the default it replaces."""
    path = data.optional(name)
    return None if path is None else {f"{name}:{path.name}": sha256_file(path)}


def read_json_records(path: Path, required: Mapping[str, type]) -> list[dict[str, Any]]:
    """A JSON list or JSON Lines file of objects with the required string fields (user-supplied inputs)."""
    if not path.is_file():
        raise TrustbenchError(f"Input file missing: {path}")
    text = path.read_text(encoding="utf-8")
    try:
        stripped = text.lstrip()
        if stripped.startswith("["):
            records = json.loads(stripped)
        else:
            records = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise TrustbenchError(f"{path}: not valid JSON or JSON Lines ({exc.msg}, line {exc.lineno})") from None
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise TrustbenchError(f"{path}, record {i}: expected an object, found {type(rec).__name__}")
        for name, typ in required.items():
            if not isinstance(rec.get(name), typ):
                raise TrustbenchError(f"{path}, record {i}: missing or non-{typ.__name__} field '{name}'")
    return records


def llm_yes(judges, template: str, items: list[dict[str, Any]]) -> list[bool | None] | None:
    """The configured LLM judge's yes (True) / no (False) per item for a survey judging question
    (`prompts.JUDGE_PROMPTS`); None in the list when it gave neither, None overall when no LLM judge is set."""
    judged = judges.ask(template, items)
    if judged is None:
        return None
    return [None if j.error is not None or j.label is None else j.label == "yes" for j in judged]


def yes_no_verdicts(samples: Sequence[Sample], responses: Mapping[str, "Response"], said_yes: Mapping[str, bool | None],
                    judge_id: str, labels: tuple[str, str], groups: Callable[[Sample], dict[str, str]],
                    extras: Callable[[Sample], dict[str, Any]]) -> list[Verdict]:
    """A verdict per sample from a judge's yes/no by sample id: failed without an answer, unjudged where the judge
    gave no verdict, else scored with label labels[0] for yes and labels[1] for no (extras `desirable`: the yes)."""
    from ..base import verdicts_for

    def one(s: Sample, text: str) -> Verdict:
        yes = said_yes.get(s.id)
        if yes is None:
            return Verdict.unjudged(s.id, judge_id, "the judge gave no verdict")
        return Verdict(s.id, Status.SCORED, judge_id, label=labels[0] if yes else labels[1], extras={"desirable": yes})

    return verdicts_for(samples, responses, judge_id, one, groups, extras)


def refusal_or_llm(ctx: "ScoringContext", template: str, samples: Sequence[Sample],
                   responses: Mapping[str, "Response"]) -> tuple[dict[str, bool | None], str]:
    """Whether each answered sample refused: the LLM judge's yes/no on the survey's judging question when one is
    configured, else the run's refusal judge. None where the judge failed. Returns (by sample id, judge id)."""
    from ..base import text_of
    from ..common import judge_refusals

    pairs = [(s, text_of(responses, s) or "") for s in samples]
    said_yes = llm_yes(ctx.judges, template, [{"question": s.prompt, "res": t} for s, t in pairs])
    if said_yes is not None:
        return dict(zip((s.id for s in samples), said_yes)), ctx.judges.llm.id  # type: ignore[union-attr]
    judged = judge_refusals(ctx, pairs)
    return ({sid: (j.label == "refusal" if j.error is None and j.label else None) for sid, j in judged.items()},
            ctx.judges.refusal.id)
