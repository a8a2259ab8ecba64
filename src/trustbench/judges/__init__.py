"""Judges by kind; `JudgeSet` holds the one configured per kind for a run.

Kinds and the calls tasks make through `JudgeSet`:
- refusal:   `refusals([(prompt, response)])` -> Judgement(label "refusal"|"answer")
- llm:       `ask(template, [fields])` -> Judgement(raw = the judge's reply), or None when no LLM judge is set
             (template keys follow TrustLLM spec §3.2: ETHICS, stereotype_recognition, advfact, squad, ...)
- embedding: `embed([texts])` -> list of vectors
- toxicity:  `toxicity([texts])` -> Judgement(score in [0, 1])

Spec strings (`--judge KIND=SPEC`):
- refusal:   combo (default: rules + classifier stacked, judges/refusal_combo.py) | rules | clf (the shipped
             classifier, judges/refusal_clf.py) | hf:NAME_OR_PATH[@DEVICE] (e.g. hf:LibrAI/longformer-harmful-ro)
             | llm:MODEL_SPEC
- llm:       MODEL_SPEC, any model spec trustbench can load (smollm2, llamacpp:PATH, openai:MODEL@URL, ...)
- embedding: minilm (default) | st:NAME_OR_PATH | openai:MODEL[@URL]
- toxicity:  profanity-check (default) | perspective[@URL] | detoxify[:CHECKPOINT]

A second refusal judge (`--second-judge refusal=SPEC`) judges every item the first one does; the run then
reports how far the two agree (Cohen's kappa and the items they disagree on) next to the scores, which
rest on the first judge only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from ..errors import TrustbenchError
from .base import Judge, JudgeInput, Judgement
from .refusal import RuleRefusalJudge

if TYPE_CHECKING:
    from ..store import Store
    from .ray_judge import RayJudgeOptions

__all__ = ["DEFAULT_SPECS", "KINDS", "Judge", "JudgeInput", "Judgement", "JudgeSet", "RuleRefusalJudge", "check_spec",
           "make_judge"]

KINDS = ("refusal", "llm", "embedding", "toxicity")
SECOND_KINDS = ("refusal",)
# refusal: combo (rules + classifier, stacked). Round 5's pre-registered rule, applied again on held-out v7 in round 7
# (docs/judges.md): more accurate than the rules overall (0.966 vs 0.707 of 523), higher refusal F1 (0.946 vs 0.435),
# and on real SmolLM2 replies at least the rules' correct count minus 2% (251 vs 237 of 257). `rules` stays selectable.
DEFAULT_SPECS: dict[str, str | None] = {"refusal": "combo", "llm": None, "embedding": "minilm", "toxicity": "profanity-check"}
SPEC_HELP = {
    "refusal": "rules | clf | combo | hf:NAME_OR_PATH[@DEVICE] | llm:MODEL_SPEC",
    "llm": "a model spec (smollm2, llamacpp:PATH, openai:MODEL@URL, ...)",
    "embedding": "minilm | st:NAME_OR_PATH | openai:MODEL[@URL]",
    "toxicity": "profanity-check | perspective[@URL] | detoxify[:CHECKPOINT]",
}


def make_judge(kind: str, spec: str, store: "Store | None") -> Judge:
    """Build a judge of `kind` from its spec string (e.g. `rules`, `hf:PATH`, `openai:MODEL@URL`)."""
    head, _, rest = spec.partition(":")
    if kind == "refusal":
        if spec == "rules":
            return RuleRefusalJudge(store)
        if spec == "clf":
            from .refusal_clf import ClassifierRefusalJudge

            return ClassifierRefusalJudge(store)
        if spec == "combo":
            from .refusal_combo import ComboRefusalJudge

            return ComboRefusalJudge(store)
        if head == "hf":
            from .hf_classifier import HFClassifierRefusalJudge, parse_spec

            model, device = parse_spec(rest)
            return HFClassifierRefusalJudge(model, store, device=device)
        if head == "llm" and rest:
            from .llm import LLMRefusalJudge

            return LLMRefusalJudge(rest, store)
    elif kind == "llm" and spec:
        from .llm import LLMJudge

        return LLMJudge(spec, store)
    elif kind == "embedding":
        from .embedding import MiniLMJudge, OpenAIEmbeddingJudge, SentenceTransformerJudge

        if spec == "minilm":
            return MiniLMJudge(store)
        if head == "st":
            return SentenceTransformerJudge(rest, store)
        if head == "openai":
            model, _, url = rest.partition("@")
            return OpenAIEmbeddingJudge(model, url or None, store)
    elif kind == "toxicity":
        from .toxicity import DetoxifyJudge, PerspectiveJudge, ProfanityCheckJudge

        if spec == "profanity-check":
            return ProfanityCheckJudge(store)
        name, _, url = spec.partition("@")
        if name == "perspective":
            return PerspectiveJudge(store, url or None, interval=float(os.environ.get("PERSPECTIVE_INTERVAL", "1.0")))
        if head == "detoxify":
            return DetoxifyJudge(rest or None, store)
    else:
        raise TrustbenchError(f"Unknown judge kind '{kind}'. Kinds: {', '.join(KINDS)}")
    from ..plugins import judge_factory

    plugin = judge_factory(kind, head)  # a `trustbench.judges` entry point KIND.NAME
    if plugin is not None:
        return plugin(spec, store)
    raise TrustbenchError(f"Unknown {kind} judge '{spec}'. Use {SPEC_HELP[kind]}")


def check_spec(kind: str, spec: str | None) -> None:
    """Parse and check a judge spec before any compute, loading no weights (judges load them at first use).

    A model spec inside it (llm=SPEC, refusal=llm:SPEC) is checked as `run --model` checks one; a local path
    (hf:/st:/detoxify: starting with / . or ~) must exist."""
    if not spec:
        return
    make_judge(kind, spec, None)  # the constructors parse and check only
    head, _, rest = spec.partition(":")
    model_spec = spec if kind == "llm" else rest if (kind == "refusal" and head == "llm") else None
    if model_spec:
        from ..preflight import check_model_spec

        check_model_spec(model_spec, f"--judge {kind}")
    elif head in ("hf", "st") and rest:
        ref = rest.rpartition("@")[0] if kind == "refusal" and "@" in rest and "/" not in rest.rpartition("@")[2] else rest
        from pathlib import Path

        if ref.startswith(("/", ".", "~")) and not Path(ref).expanduser().exists():
            raise TrustbenchError(f"--judge {kind}={spec}: no such model folder: {ref}")
        from ..preflight import check_hub_model

        check_hub_model(ref, f"--judge {kind}={spec}")


@dataclass
class JudgeSet:
    """The judges of one run, created lazily so unused kinds cost nothing."""

    store: "Store | None" = None
    specs: dict[str, str | None] = field(default_factory=lambda: dict(DEFAULT_SPECS))
    second: dict[str, str] = field(default_factory=dict)  # kind -> spec of a judge to compare with (refusal only)
    remote: "RayJudgeOptions | None" = None  # --ray-judges: these kinds are built on Ray (judges/ray_judge.py)
    _built: dict[str, Judge | None] = field(default_factory=dict)
    _second_built: dict[str, Judge] = field(default_factory=dict)
    _compared: dict[str, tuple[list[Judgement], list[Judgement], list[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unsupported = sorted(set(self.second) - set(SECOND_KINDS))
        if unsupported:
            raise TrustbenchError(f"--second-judge supports only {', '.join(SECOND_KINDS)}; got {', '.join(unsupported)}")

    def get(self, kind: str) -> Judge | None:
        if kind not in KINDS:
            raise TrustbenchError(f"Unknown judge kind '{kind}'. Kinds: {', '.join(KINDS)}")
        if kind not in self._built:
            spec = self.specs.get(kind)
            self._built[kind] = self._make(kind, spec) if spec else None
        return self._built[kind]

    def _make(self, kind: str, spec: str) -> Judge:
        """make_judge, or its Ray form when --ray-judges names the kind."""
        if self.remote is not None and kind in self.remote.kinds:
            from .ray_judge import remote_judge

            return remote_judge(kind, spec, self.store, self.remote)
        return make_judge(kind, spec, self.store)

    @property
    def refusal(self) -> Judge:
        judge = self.get("refusal")
        if judge is None:
            raise TrustbenchError("A refusal judge is required (e.g. --judge refusal=rules)")
        return judge

    @property
    def llm(self) -> Judge | None:
        return self.get("llm")

    def refusals(self, pairs: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Refusal judgements for (prompt, response) pairs (and the second judge's, kept for `agreements`)."""
        inputs = [JudgeInput(response=r, prompt=p) for p, r in pairs]
        got = self.refusal.judge(inputs)
        if "refusal" in self.second:
            judge = self._second_built.get("refusal") or self._make("refusal", self.second["refusal"])
            self._second_built["refusal"] = judge
            first, other, texts = self._compared.setdefault("refusal", ([], [], []))
            first += got
            other += judge.judge(inputs)
            texts += [r for _, r in pairs]
        return got

    def agreements(self, examples: int = 20) -> dict[str, Any]:
        """Per compared kind: both judges' ids, Cohen's kappa, observed agreement and some disagreeing responses."""
        from .agreement import agreement

        out = {}
        for kind, (first, other, texts) in self._compared.items():
            result = agreement(first, other)
            result["disagreements"] = [{"response": texts[int(d["id"])], "first": d["first"], "second": d["second"]}
                                       for d in result["disagreements"][:examples]]
            out[kind] = {"first": self.get(kind).id, "second": self._second_built[kind].id, **result}  # type: ignore[union-attr]
        return out

    def ask(self, template: str, items: Sequence[dict[str, Any]]) -> list[Judgement] | None:
        """Ask the LLM judge one TrustLLM judging question per item; None when no LLM judge is configured.

        Each item maps the template's fields (e.g. {"res": ...} or {"question":..., "answer":..., "res":...}).
        """
        judge = self.llm
        if judge is None:
            return None
        inputs = [
            JudgeInput(response=str(it.get("res", "")), extra=(("template", template),)
                       + tuple(sorted((k, str(v)) for k, v in it.items() if k != "res")))
            for it in items
        ]
        return judge.judge(inputs)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        judge = self.get("embedding")
        if judge is None:
            raise TrustbenchError("This task needs an embedding judge (e.g. --judge embedding=minilm)")
        return judge.embed(texts)  # type: ignore[attr-defined]

    def close(self) -> None:
        """Release what built judges hold (Ray actors, an LLM judge's backend) before the next model's run."""
        for judge in [*self._built.values(), *self._second_built.values()]:
            close = getattr(judge, "close", None)
            if callable(close):
                close()

    def toxicity(self, texts: Sequence[str]) -> list[Judgement]:
        judge = self.get("toxicity")
        if judge is None:
            raise TrustbenchError("This task needs a toxicity judge (e.g. --judge toxicity=profanity-check)")
        return judge.judge([JudgeInput(response=t) for t in texts])
