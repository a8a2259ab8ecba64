"""Declarative tasks: a TOML file describes a task of one of the common shapes, no Python needed.

    [task]
    name = "capitals"                  # id: <dimension>/<name>
    dimension = "custom"               # default "custom"
    kind = "multiple_choice"           # multiple_choice | classification | refusal_rate | similarity
    data = "capitals.jsonl"            # JSON list or JSON Lines, relative to this file
    prompt = "{question}\\nA. {a}\\nB. {b}\\nAnswer with the letter."   # str.format over each record
    gold = "answer"                    # field holding the gold letter / label / reference text
    version = "1"                      # recorded in results.json; bump when the task changes
    description = "..."
    temperature = 0.0                  # default 0
    max_tokens = 64                    # default 256
    # multiple_choice: letters = "AB" (default "ABCD"), options = {A = "a", B = "b"} (fields quoted as answers)
    # classification:  labels = ["positive", "negative"]
    # refusal_rate:    direction = "higher" (harmful prompts: refusing is good) | "lower" (benign prompts)
    # similarity:      (the embedding judge's cosine between answer and reference; gold = reference field)
    group_by = ["topic"]               # optional breakdown fields

Run it with `trustbench run --task-file PATH` (repeatable) or `--include DIR` (every *.toml in DIR).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from .core import Response, Sample, Status, Verdict
from .data import DataDir
from .errors import TrustbenchError
from .judges.rules import get_rule
from .metrics import Metric, mean_metric
from .tasks.base import ScoringContext, Task, judged, register, registry, verdicts_for
from .tasks.common import accuracy, cosine, invalid_rate, refusal_verdicts, rta_metric

KINDS = ("multiple_choice", "classification", "refusal_rate", "similarity")


class FileTask(Task):
    """A task read from a TOML file: data, prompt template, kind-specific judging and metrics."""

    spec: ClassVar[dict[str, Any]] = {}
    path: ClassVar[Path] = Path()
    file = ""

    @property
    def data_path(self) -> Path:
        p = Path(self.spec["data"]).expanduser()
        return p if p.is_absolute() else self.path.parent / p

    def data_files(self, data: DataDir) -> dict[str, str]:
        import hashlib

        return {f"{self.id}:{self.data_path.name}": hashlib.sha256(self.data_path.read_bytes()).hexdigest()}

    def load(self, data: DataDir) -> list[dict]:
        return read_records(self.data_path)

    def validate(self, records: Sequence[dict]) -> None:
        fields = _template_fields(self.spec["prompt"]) | {self.spec["gold"]} if "gold" in self.spec else \
            _template_fields(self.spec["prompt"])
        for i, rec in enumerate(records):
            missing = sorted(f for f in fields if f not in rec)
            if missing:
                raise TrustbenchError(f"{self.data_path}, record {i}: missing field(s) {', '.join(missing)}")
            gold = rec.get(self.spec.get("gold", ""))
            if self.spec["kind"] == "multiple_choice" and gold not in tuple(self.spec.get("letters", "ABCD")):
                raise TrustbenchError(f"{self.data_path}, record {i}: gold {gold!r} is not one of the letters "
                                      f"{self.spec.get('letters', 'ABCD')}")
            if self.spec["kind"] == "classification" and gold not in self.spec["labels"]:
                raise TrustbenchError(f"{self.data_path}, record {i}: gold {gold!r} is not one of the labels "
                                      f"{', '.join(self.spec['labels'])}")

    def prompt(self, record: Mapping[str, Any]) -> str:
        return str(self.spec["prompt"]).format(**record)

    def samples(self, records: Sequence[dict], limit: int | None = None) -> list[Sample]:
        chosen = list(enumerate(records))[:limit] if limit else list(enumerate(records))
        return [Sample(id=f"{self.id}#{i}", index=i, prompt=self.prompt(r), record=r) for i, r in chosen]

    def _groups(self) -> Callable[[Sample], dict[str, str]]:
        return lambda s: {k: str(s.record.get(k)) for k in self.group_by}

    def judge(self, samples: Sequence[Sample], responses: Mapping[str, Response], ctx: ScoringContext) -> list[Verdict]:
        kind, gold = self.spec["kind"], self.spec.get("gold", "")
        if kind == "refusal_rate":
            return refusal_verdicts(self, samples, responses, ctx, self._groups())
        if kind == "similarity":
            return self._similarity(samples, responses, ctx)
        if kind == "multiple_choice":
            rule = get_rule("option-letter")
            letters = self.spec.get("letters", "ABCD")
            opts = self.spec.get("options") or {}

            def read(s: Sample, text: str) -> Any:
                return rule(text, letters, {k: str(s.record[f]) for k, f in opts.items()} or None, prompt=s.prompt)
        else:
            rule = get_rule("first-phrase")

            def read(s: Sample, text: str) -> Any:
                return rule(text, self.spec["labels"], prompt=s.prompt)

        def one(s: Sample, text: str) -> Verdict:
            got = read(s, text)
            return judged(s, rule.id, label=got.value, correct=got.value is not None and
                          str(got.value).lower() == str(s.record[gold]).lower(), invalid=got.reason)

        return verdicts_for(samples, responses, rule.id, one, self._groups(), lambda s: {"gold": s.record[gold]})

    def _similarity(self, samples: Sequence[Sample], responses: Mapping[str, Response],
                    ctx: ScoringContext) -> list[Verdict]:
        judge = ctx.judges.get("embedding")
        judge_id = judge.id if judge else "embedding:none"
        answered = [s for s in samples if (responses.get(s.id) and responses[s.id].text is not None)]
        texts = [t for s in answered for t in ((responses[s.id].text or ""), str(s.record[self.spec["gold"]]))]
        vecs = np.asarray(ctx.judges.embed(texts), dtype=float) if texts else np.zeros((0, 0))
        out, by_id = [], {}
        for k, s in enumerate(answered):
            by_id[s.id] = Verdict(s.id, Status.SCORED, judge_id, score=cosine(vecs[2 * k], vecs[2 * k + 1]),
                                  groups=self._groups()(s))
        for s in samples:
            out.append(by_id.get(s.id) or Verdict.failed(s.id, judge_id, groups=self._groups()(s)))
        return out

    def metrics(self) -> list[Metric]:
        kind = self.spec["kind"]
        if kind == "refusal_rate":
            return [rta_metric(direction=self.spec.get("direction", "higher"))]
        if kind == "similarity":
            return [mean_metric("similarity", lambda v: v.score, headline=True, judge_kind="embedding",
                                description="mean cosine similarity of the answer to the reference")]
        return [accuracy(headline=True, description="share of correct answers (invalid answers count as wrong)"),
                invalid_rate()]


def _template_fields(template: str) -> set[str]:
    import string

    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def read_records(path: Path) -> list[dict]:
    """A JSON list or JSON Lines file of objects."""
    if not path.is_file():
        raise TrustbenchError(f"Task data file missing: {path}")
    try:
        text = path.read_text(encoding="utf-8")
        rows = json.loads(text) if text.lstrip().startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TrustbenchError(f"{path}: not valid JSON or JSON Lines ({exc})") from None
    if not rows:
        raise TrustbenchError(f"{path}: holds no records")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise TrustbenchError(f"{path}, record {i}: expected an object, found {type(r).__name__}")
    return rows


REQUIRED = {"name": str, "kind": str, "data": str, "prompt": str}


def load_task_file(path: Path) -> Task:
    """Parse, check and register the task a TOML file describes (the same file twice registers once)."""
    path = Path(path).expanduser()
    try:
        spec = tomllib.loads(path.read_text(encoding="utf-8")).get("task")
    except FileNotFoundError:
        raise TrustbenchError(f"Task file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise TrustbenchError(f"{path}: not a readable TOML task file ({exc})") from None
    if not isinstance(spec, dict):
        raise TrustbenchError(f"{path}: expected a [task] table")
    for key, typ in REQUIRED.items():
        if not isinstance(spec.get(key), typ):
            raise TrustbenchError(f"{path}: [task] needs '{key}' ({typ.__name__})")
    if spec["kind"] not in KINDS:
        raise TrustbenchError(f"{path}: kind '{spec['kind']}' is not one of {', '.join(KINDS)}")
    if spec["kind"] != "refusal_rate" and not isinstance(spec.get("gold"), str):
        raise TrustbenchError(f"{path}: kind '{spec['kind']}' needs 'gold' (the field with the answer)")
    if spec["kind"] == "classification" and not (isinstance(spec.get("labels"), list) and spec["labels"]):
        raise TrustbenchError(f"{path}: kind 'classification' needs 'labels', a list of the class names")
    if spec.get("direction", "higher") not in ("higher", "lower"):
        raise TrustbenchError(f"{path}: direction must be 'higher' or 'lower'")
    dimension = str(spec.get("dimension", "custom"))
    task_id = f"{dimension}/{spec['name']}"
    existing = registry().get(task_id)
    if existing is not None:
        if isinstance(existing, FileTask) and existing.path == path.resolve():
            return existing
        raise TrustbenchError(f"{path}: task id {task_id} is already registered")
    attrs = {
        "name": spec["name"], "dimension": dimension, "spec": spec, "path": path.resolve(),
        "file": f"{task_id}:{Path(spec['data']).name}", "source": "taskfile",
        "description": str(spec.get("description", f"{spec['kind']} task from {path.name}")),
        "version": str(spec.get("version", "1")), "temperature": float(spec.get("temperature", 0.0)),
        "max_tokens": int(spec.get("max_tokens", 256)), "group_by": tuple(spec.get("group_by", ())),
        "judge_kinds": {"refusal_rate": ("refusal",), "similarity": ("embedding",)}.get(spec["kind"], ("rule",)),
    }
    cls = type(f"FileTask_{spec['name']}", (FileTask,), attrs)
    register(cls)
    return registry()[task_id]


def load_task_files(files: Sequence[Path] = (), include: Sequence[Path] = ()) -> list[Task]:
    """The tasks of `--task-file` paths and of every *.toml in `--include` folders, registered."""
    paths = list(files)
    for folder in include:
        if not Path(folder).is_dir():
            raise TrustbenchError(f"--include: not a directory: {folder}")
        paths += sorted(Path(folder).glob("*.toml"))
    return [load_task_file(p) for p in paths]
