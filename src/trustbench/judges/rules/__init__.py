"""Rule judges: registered, versioned parsing rules, one implementation each.

A rule turns a response (and what the prompt showed) into a `Parse`: the value read, or None with the reason
it is invalid. Its id `rule:NAME@VERSION` is what verdicts name as their judge. A rule's version must change
whenever its behaviour changes: `tests/test_rules_golden.py` records each version's outputs on its examples and
on a shared corpus, and fails when the outputs change under the same version. The built-in rules' examples (their
documented behaviour, a table of inputs and the value read) are data: `examples.json` beside this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, NamedTuple


class Parse(NamedTuple):
    """What a rule read: `value`, or None and the `reason` the answer is invalid."""

    value: Any
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Rule:
    name: str
    version: int
    fn: Callable[..., Parse]
    description: str
    # (keyword arguments, expected value) pairs: the rule's documented behaviour, checked by the tests.
    examples: tuple[tuple[dict[str, Any], Any], ...] = field(default=(), compare=False)
    # An empty or blank `text` is invalid ("empty answer") before the rule runs: no rule reads a value from nothing.
    needs_answer: bool = field(default=False, compare=False)

    @property
    def id(self) -> str:
        return f"rule:{self.name}@{self.version}"

    def __call__(self, *args: Any, **kwargs: Any) -> Parse:
        if self.needs_answer:
            text = kwargs["text"] if "text" in kwargs else args[0] if args else None
            if not text or not text.strip():
                return Parse(None, "empty answer")
        return self.fn(*args, **kwargs)


_RULES: dict[str, Rule] = {}


EXAMPLES = Path(__file__).with_name("examples.json")


@lru_cache(maxsize=1)
def _documented() -> dict[str, tuple[tuple[dict[str, Any], Any], ...]]:
    """The built-in rules' examples by rule name (JSON lists stand for tuples in expected values)."""
    table = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return {name: tuple((kwargs, tuple(want) if isinstance(want, list) else want) for kwargs, want in rows)
            for name, rows in table.items()}


def rule(name: str, version: int, description: str, examples: tuple[tuple[dict[str, Any], Any], ...] = (),
         needs_answer: bool = False) -> Callable[[Callable[..., Parse]], Rule]:
    """Register the decorated function as rule `name` at `version`; `examples` default to its rows in
    examples.json. `needs_answer`: an empty `text` is invalid without calling the function."""

    def deco(fn: Callable[..., Parse]) -> Rule:
        if name in _RULES:
            raise ValueError(f"duplicate rule {name}")
        r = Rule(name, version, fn, description, examples or _documented().get(name, ()), needs_answer)
        _RULES[name] = r
        return r

    return deco


def get_rule(name: str) -> Rule:
    return rules()[name]


def rules() -> dict[str, Rule]:
    from . import ethics, fairness, privacy, robustness, text, truthfulness  # noqa: F401  (register the built-ins)

    return dict(_RULES)


__all__ = ["Parse", "Rule", "get_rule", "rule", "rules"]
