"""Rule judges: registered, versioned parsing rules, one implementation each.

A rule turns a response (and what the prompt showed) into a `Parse`: the value read, or None with the reason
it is invalid. Its id `rule:NAME@VERSION` is what verdicts name as their judge. A rule's version must change
whenever its behaviour changes: `tests/test_rules_golden.py` records each version's outputs on its examples and
on a shared corpus, and fails when the outputs change under the same version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @property
    def id(self) -> str:
        return f"rule:{self.name}@{self.version}"

    def __call__(self, *args: Any, **kwargs: Any) -> Parse:
        return self.fn(*args, **kwargs)


_RULES: dict[str, Rule] = {}


def rule(name: str, version: int, description: str,
         examples: tuple[tuple[dict[str, Any], Any], ...] = ()) -> Callable[[Callable[..., Parse]], Rule]:
    """Register the decorated function as rule `name` at `version`."""

    def deco(fn: Callable[..., Parse]) -> Rule:
        if name in _RULES:
            raise ValueError(f"duplicate rule {name}")
        r = Rule(name, version, fn, description, examples)
        _RULES[name] = r
        return r

    return deco


def get_rule(name: str) -> Rule:
    return rules()[name]


def rules() -> dict[str, Rule]:
    from . import text  # noqa: F401  (registers the built-in rules)
    from . import truthfulness  # noqa: F401,E402
    from . import ethics, fairness  # noqa: F401,E402
    from . import privacy, robustness  # noqa: F401,E402

    return dict(_RULES)


__all__ = ["Parse", "Rule", "get_rule", "rule", "rules"]
