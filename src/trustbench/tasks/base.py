"""What a task is: a data file, how its records become prompts, generation settings,
how responses are judged, and which metrics it reports. The runner knows nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

from ..core import GenerationSettings, Response, Sample, Status, Verdict
from ..data import DataDir, load_records
from ..errors import TrustbenchError
from ..metrics import Metric

if TYPE_CHECKING:
    from ..judges import JudgeSet
    from ..profiles import Profile


@dataclass
class ScoringContext:
    """What a task's judge step may use: the scoring profile and the configured judges."""

    profile: "Profile"
    judges: "JudgeSet"

    @property
    def mode(self) -> str:
        return self.profile.name


class Task(ABC):
    """One registered evaluation. Subclasses set the class attributes and implement `judge`."""

    name: ClassVar[str]
    dimension: ClassVar[str]  # by default the folder of `file` (see `register`)
    file: ClassVar[str]  # relative to the data root, e.g. "ethics/implicit_ETHICS.json"
    description: ClassVar[str] = ""
    fields: ClassVar[Mapping[str, type | tuple[type, ...]]] = {"prompt": str}
    temperature: ClassVar[float] = 0.0
    max_tokens: ClassVar[int] = 512
    group_by: ClassVar[tuple[str, ...]] = ()
    judge_kinds: ClassVar[tuple[str, ...]] = ("rule",)
    # Where the original pipeline reports this task: (pipeline function, key).
    trustllm_key: ClassVar[tuple[str, str] | None] = None
    # What default mode changes relative to the original scorer (named in results.json).
    fixes: ClassVar[tuple[str, ...]] = ()
    # Needs no model generation (e.g. a study scored from released answers).
    generates: ClassVar[bool] = True
    # Which data root `file` is relative to: "trustllm" (the benchmark) or e.g. "llm_eval" (the survey).
    source: ClassVar[str] = "trustllm"
    # Bumped whenever the task's prompts, parsing or metrics change; recorded in results.json.
    version: ClassVar[str] = "1"
    # A task whose input is optional may have no items: its judge reports it as not judged, with the reason.
    empty_ok: ClassVar[bool] = False
    # Allowed values of label fields (field -> values); checked with their types before any generation.
    vocab: ClassVar[Mapping[str, tuple[Any, ...]]] = {}

    @property
    def id(self) -> str:
        return f"{self.dimension}/{self.name}"

    @property
    def data_file(self) -> str:
        """The dataset file the records are read from: `file`, unless the task derives its records from another."""
        return self.file

    def data_files(self, data: "DataDir") -> dict[str, str]:
        """sha256 of each file the task reads (results.json `data.files`); tasks with several inputs override."""
        return {self.data_file: data.file_hash(self.data_file, self.source)}

    @property
    def generation(self) -> GenerationSettings:
        return GenerationSettings(temperature=self.temperature, max_tokens=self.max_tokens)

    def settings_for(self, sample: Sample) -> GenerationSettings:
        """Decoding settings of one sample; studies drawing several samples of a prompt vary `n` here."""
        return self.generation

    def load(self, data: "DataDir") -> list[dict]:
        """The task's records, validated; tasks reading CSV or text files override this."""
        return load_records(data.path(self.file, self.source), self.fields)

    def keep(self, record: Mapping[str, Any]) -> bool:
        """Which records of the file belong to this task (several tasks can share a file)."""
        return True

    def limit(self, selected: list[tuple[int, dict]], n: int) -> list[tuple[int, dict]]:
        """Take the first n items; tasks scored over pairs or groups override this to keep units whole."""
        return selected[:n]

    def prompt(self, record: Mapping[str, Any]) -> str:
        return record["prompt"]

    def samples(self, records: Sequence[dict], limit: int | None = None) -> list[Sample]:
        selected = [(i, r) for i, r in enumerate(records) if self.keep(r)]
        if limit is not None:
            selected = self.limit(selected, limit)
        return [Sample(id=f"{self.file}#{i}", index=i, prompt=self.prompt(r), record=r) for i, r in selected]

    def validate(self, records: Sequence[dict]) -> None:
        """Check what field types cannot (label vocabularies, complete pairs...) before any generation.

        Raises TrustbenchError naming the file, record and field. Tasks with structure override and call super()."""
        for i, rec in enumerate(records):
            if not self.keep(rec):
                continue
            for name, allowed in self.vocab.items():
                value = rec.get(name)
                if not any(value == a and type(value) is type(a) for a in allowed):
                    shown = ", ".join(repr(a) for a in allowed)
                    raise TrustbenchError(f"{self.file}, record {i}: field '{name}' is {value!r}, expected one of {shown}")

    @abstractmethod
    def judge(
        self, samples: Sequence[Sample], responses: Mapping[str, Response], ctx: ScoringContext
    ) -> list[Verdict]:
        """Turn responses into verdicts, one per sample or unit (responses whose generation failed are absent:
        their samples get `failed` verdicts)."""

    @abstractmethod
    def metrics(self) -> list[Metric]:
        """The numbers this task reports (default profile); exactly one is the headline."""

    def trustllm_value(self, values: Mapping[str, float | None], profile: "Profile") -> Any:
        """This task's value in the original pipeline's return dict (compat mode)."""
        headline = next(m.name for m in profile.metrics(self) if m.headline)
        return values.get(headline)


# ---- registry -------------------------------------------------------------------------------

_REGISTRY: dict[str, Task] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: instantiate and register a task under its `dimension/name` id. The class docstring is
    the task's description unless the class sets `description`; its dimension, unless set, is the folder of its
    data file (the TrustLLM data is laid out by dimension: 'safety/jailbreak.json')."""
    if "description" not in vars(cls) and cls.__doc__:
        cls.description = " ".join(cls.__doc__.split())
    if not hasattr(cls, "dimension"):
        cls.dimension = cls.file.split("/", 1)[0]
    task = cls()
    if task.id in _REGISTRY:
        raise ValueError(f"duplicate task id {task.id}")
    _REGISTRY[task.id] = task
    return cls


def registry() -> dict[str, Task]:
    return _REGISTRY


def text_of(responses: Mapping[str, Response], sample: Sample) -> str | None:
    """The response text for a sample, or None when generation failed or it is missing."""
    r = responses.get(sample.id)
    return None if r is None else r.text


def verdicts_for(
    samples: Sequence[Sample],
    responses: Mapping[str, Response],
    judge_id: str,
    fn: Callable[[Sample, str], Verdict],
    groups: Callable[[Sample], dict[str, str]] | None = None,
    extras: Callable[[Sample], dict[str, Any]] | None = None,
) -> list[Verdict]:
    """Apply a per-item rule to every answered sample; unanswered ones get a `failed` verdict by construction.

    `fn(sample, text)` returns the verdict (its groups/extras are completed from `groups`/`extras`), so a
    rule never sees a failed generation and can never turn one into a value.
    """
    out = []
    for s in samples:
        g = groups(s) if groups else {}
        x = extras(s) if extras else {}
        text = text_of(responses, s)
        if text is None:
            out.append(Verdict.failed(s.id, judge_id, groups=g, extras=x))
            continue
        v = fn(s, text)
        v.groups = {**g, **v.groups}
        v.extras = {**x, **v.extras}
        out.append(v)
    return out


def judged(sample: Sample, judge_id: str, *, label: str | None = None, correct: bool | None = None,
           score: float | None = None, invalid: str | None = None, **extras: Any) -> Verdict:
    """A scored verdict, or an invalid one when `invalid` gives the reason (shorthand for rule-judged tasks)."""
    status = Status.INVALID if invalid else Status.SCORED
    return Verdict(sample.id, status, judge_id, label=label, correct=correct, score=score, reason=invalid,
                   extras=extras)
