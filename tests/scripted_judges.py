"""Judges whose answers a test chooses by hand, so expected metric values can be derived exactly."""

from __future__ import annotations

from typing import Callable, Sequence

from trustbench.judges import DEFAULT_SPECS, Judge, JudgeInput, Judgement, JudgeSet


class ScriptedLLM(Judge):
    """LLM judge: `reply(response, fields)` gives the reply text, or None for a failed call."""

    kind = "llm"
    name = "scripted"

    def __init__(self, reply: Callable[[str, dict[str, str]], str | None]):
        super().__init__(None)
        self.reply = reply
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        out = []
        for it in items:
            fields = dict(it.extra)
            self.seen.append((fields["template"], it.response, fields))
            r = self.reply(it.response, fields)
            out.append(Judgement(label=None, raw=r) if r is not None else Judgement(label=None, error="call failed"))
        return out


class TableEmbedder(Judge):
    """Embedding judge returning the hand-chosen vector of each text."""

    kind = "embedding"
    name = "table"

    def __init__(self, table: dict[str, list[float]]):
        super().__init__(None)
        self.table = table

    def _judge(self, items):  # pragma: no cover - embeddings only
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.table[t] for t in texts]


class TableToxicity(Judge):
    """Toxicity judge: the score listed for each text; texts listed as None fail."""

    kind = "toxicity"
    name = "table"

    def __init__(self, table: dict[str, float | None]):
        super().__init__(None)
        self.table = table
        self.seen: list[str] = []

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        self.seen += [it.response for it in items]
        return [Judgement(label=None, score=self.table[it.response]) if self.table[it.response] is not None
                else Judgement(label=None, error="quota exceeded") for it in items]


def judges(**built: Judge) -> JudgeSet:
    """The default judge set with the rule refusal judge (tests built on its arithmetic; the default refusal judge
    is `combo` since round 5) and the given kinds replaced."""
    return JudgeSet(specs={**DEFAULT_SPECS, "refusal": "rules"}, _built=dict(built))
