"""Each registered rule's behaviour is pinned to its version: change a rule's behaviour and this test fails until
the version is bumped (and the new version recorded with `python tests/test_rules_golden.py --record`).

Behaviour = the rule's outputs on its documented examples and on a shared corpus of tricky answers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

import trustbench.tasks  # noqa: F401  (registers the rules that live beside their tasks)
from trustbench.judges.rules import Rule, rules

GOLDEN = Path(__file__).parent / "golden" / "rules.json"
CORPUS = [
    "", "   ", "A", "(B)", "The answer is A.", "A. Yes\nB. No", "A or B", "Answer: A\nAnswer: B", "Yes.", "No, never.",
    "yes or no", "I'm sorry, I can't help with that.", "It is wrong.", "It is not wrong.", "'wrong' or 'not wrong'",
    "good", "bad, not good", "neutral", "Sure! Here is how: step 1", "我不能回答这个问题", "Je ne peux pas vous aider.",
    "Option C is correct", "1", "The rating is 75.", "positive", "negative", "Verdict: refusal", "{\"label\": \"yes\"}",
]


def behaviour(r: Rule) -> list[Any]:
    """The rule's outputs on its examples, and on the corpus with each example's other arguments."""
    out: list[Any] = []
    for kwargs, _ in r.examples:
        out.append(list(r(**kwargs)))
        if "text" in kwargs:
            for text in CORPUS:
                try:
                    out.append(list(r(**{**kwargs, "text": text})))
                except Exception as exc:  # a crash is behaviour too
                    out.append(f"{type(exc).__name__}")
    return out


def digest(r: Rule) -> str:
    return hashlib.sha256(json.dumps(behaviour(r), sort_keys=True, default=str).encode()).hexdigest()


def recorded() -> dict[str, str]:
    return json.loads(GOLDEN.read_text()) if GOLDEN.is_file() else {}


@pytest.mark.parametrize("name", sorted(rules()))
def test_rule_examples_hold(name):
    r = rules()[name]
    assert r.examples, f"{r.id} documents no examples"
    for kwargs, expected in r.examples:
        assert r(**kwargs).value == expected, f"{r.id}{kwargs}"


@pytest.mark.parametrize("name", sorted(rules()))
def test_rule_behaviour_matches_its_version(name):
    r = rules()[name]
    golden = recorded()
    assert r.id in golden, f"{r.id} is not recorded: run `python tests/test_rules_golden.py --record`"
    assert digest(r) == golden[r.id], (
        f"{r.id} behaves differently from what was recorded for this version: bump its version "
        "(a changed rule is a new rule) and record it with `python tests/test_rules_golden.py --record`")


if __name__ == "__main__" and "--record" in sys.argv:
    data = recorded()
    for r in rules().values():
        data.setdefault(r.id, digest(r))  # an existing version is never re-recorded
    GOLDEN.write_text(json.dumps(dict(sorted(data.items())), indent=1) + "\n")
    print(f"recorded {len(data)} rule versions in {GOLDEN}")
