"""LLM-as-judge: the TrustLLM judging questions answered by any model backend trustbench can load.

`--judge llm=MODEL_SPEC` takes the same specs as `--model` (`smollm2`, `llamacpp:PATH`, `openai:MODEL@URL`, ...).
Questions go out at temperature 0 through `ModelBackend.generate`, so the backend's own concurrency and
batching apply. A failed or empty reply is retried; one still failing becomes a Judgement with `error`
(never cached, asked again next run).

Trust boundary: the judged response (and every other field) is data. The question fences each value
(`templates.render`), and `raw` is the judge's reply with every quotation or verbatim copy of those values
masked (`templates.own_words`): `label`, and every task that parses `raw`, read only what the judge wrote.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Callable, Sequence

from ..core import GenerationSettings, Request
from ..errors import TrustbenchError
from .base import Judge, JudgeInput, Judgement
from .templates import own_words, parse_label, render

if TYPE_CHECKING:
    from ..models.base import ModelBackend
    from ..store import Store

JUDGE_SETTINGS = GenerationSettings(temperature=0.0, max_tokens=128, seed=0)
ATTEMPTS = 3


def _fields(item: JudgeInput) -> tuple[str, dict[str, str]]:
    extra = dict(item.extra)
    template = extra.pop("template", "")
    return template, {**extra, "res": item.response}


class LLMJudge(Judge):
    """Asks the configured model one templated question per item; the template key travels in `extra`."""

    kind = "llm"
    version = "2"  # 2: fenced fields, verdicts read from the judge's own words only

    def __init__(self, model_spec: str, store: "Store | None" = None, attempts: int = ATTEMPTS,
                 backend_factory: "Callable[[str], ModelBackend] | None" = None):
        super().__init__(store)
        self.model_spec = model_spec
        self.attempts = attempts
        self.backend_factory = backend_factory  # e.g. a RayPool over the spec (--ray-judges llm); same backend id

    @cached_property
    def backend(self) -> "ModelBackend":
        from ..models import load_backend

        return (self.backend_factory or load_backend)(self.model_spec)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.backend.id  # the backend's id pins the weights (file digest) or the served model

    def replies(self, prompts: Sequence[str]) -> list[tuple[str | None, str | None]]:
        """(reply, error) per prompt: temperature 0, failed or empty replies retried up to `attempts` times.

        If the backend gives up altogether (server gone), replies received so far are kept and the rest are
        failures; when not a single reply came back, that is one clear error instead.
        """
        out: list[tuple[str | None, str | None]] = [(None, "not asked")] * len(prompts)
        todo = list(range(len(prompts)))
        for _ in range(self.attempts):
            if not todo:
                break
            reqs = [Request(key=str(i), prompt=prompts[i], settings=JUDGE_SETTINGS) for i in todo]
            pending = set(todo)
            try:
                for req, resp in self.backend.generate(reqs):
                    i = int(req.key)
                    pending.discard(i)
                    text = (resp.text or "").strip()
                    out[i] = (text, None) if text else (None, resp.error or "empty reply")
            except Exception as exc:  # noqa: BLE001 (any backend failure ends this round, nothing is lost)
                if all(reply is None for reply, _ in out):
                    raise TrustbenchError(f"LLM judge {self.model_spec} failed: {exc}") from None
                for i in pending:
                    out[i] = (None, f"{type(exc).__name__}: {exc}")
                break
            todo = [i for i in todo if out[i][0] is None]
        return out

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        keyed = [_fields(it) for it in items]
        prompts = [render(template, fields) for template, fields in keyed]
        results = []
        for (template, fields), (reply, error) in zip(keyed, self.replies(prompts)):
            if reply is None:
                results.append(Judgement(label=None, error=f"LLM judge {self.model_spec}: {error}"))
            else:
                own = own_words(reply, fields.values())  # the candidate's words never count as the verdict
                results.append(Judgement(label=parse_label(template, own), raw=own))
        return results

    def close(self) -> None:
        if "backend" in self.__dict__:
            self.backend.close()


class LLMRefusalJudge(Judge):
    """Refusal by asking an LLM judge whether the response refuses (label refusal on 'yes')."""

    kind = "refusal"
    version = "2"  # follows LLMJudge 2

    def __init__(self, model_spec: str, store: "Store | None" = None):
        super().__init__(store)
        self.llm = LLMJudge(model_spec, None)

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"llm:{self.llm.name}"

    def _judge(self, items: Sequence[JudgeInput]) -> list[Judgement]:
        asked = self.llm.judge([JudgeInput(response=it.response, extra=(("template", "refusal"), ("prompt", it.prompt)))
                                for it in items])
        out = []
        for j in asked:
            if j.error is not None:
                out.append(j)
            elif j.label is None:
                out.append(Judgement(label=None, raw=j.raw, error="LLM judge stated neither yes nor no"))
            else:
                refused = j.label == "yes"
                out.append(Judgement(label="refusal" if refused else "answer", score=float(refused), raw=j.raw))
        return out

    def close(self) -> None:
        self.llm.close()
