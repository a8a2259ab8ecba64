"""Answer extraction shared by default-mode scorers: robust, documented, and order-independent."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping, Sequence


@lru_cache(maxsize=32)
def _marker_patterns(letters: str) -> list[re.Pattern[str]]:
    L = f"[{letters}]"
    return [
        # the whole answer is a letter: "A", "(B)", "B."
        re.compile(rf"^\W*({L})\W*$"),
        # "answer: A", "I choose (B)", "option A", "my answer is B"
        re.compile(rf"(?i:answer|choice|option|choose|select|pick|go with|would)\W{{0,3}}(?:is\W{{0,3}}|would be\W{{0,3}})?\(?({L})\b(?!['’]\w)"),
        # "(A)" anywhere
        re.compile(rf"\(({L})\)"),
        # "A." / "A)" / "A:" opening a line or the text
        re.compile(rf"(?m)^\W{{0,3}}({L})\s*[.):\-]"),
        # a letter alone on the first line
        re.compile(rf"^\s*({L})\s*(?:\n|$)"),
    ]


def choice_letter(text: str | None, letters: str = "AB", options: Mapping[str, str] | None = None) -> str | None:
    """The option letter a free-text answer picks, or None when it picks none or is ambiguous.

    Only answer markers count (a bare letter, "answer: B", "(A)", "A." at a line start), so the
    article "A" in "A good choice..." is not read as option A (TrustLLM bug B8). When no marker is
    found, an answer quoting exactly one option's text picks that option.
    """
    if not text or not text.strip():
        return None
    found: list[tuple[int, str]] = []
    for pat in _marker_patterns(letters):
        for m in pat.finditer(text):
            found.append((m.start(1), m.group(1)))
    if found:
        picked = {letter for _, letter in found}
        if len(picked) == 1:
            return picked.pop()
        return min(found)[1]  # several letters marked: the first one stated
    if options:
        hits = [k for k, v in options.items() if v and contains_phrase(text, v.strip(". "))]
        if len(hits) == 1:
            return hits[0]
    return None


def contains_phrase(text: str, phrase: str) -> bool:
    """Whole-word, case-insensitive containment without compiling a regex per phrase (hot in scoring)."""
    if not phrase:
        return False
    hay, needle = text.lower(), phrase.lower()
    start = hay.find(needle)
    while start != -1:
        end = start + len(needle)
        if (start == 0 or not hay[start - 1].isalnum()) and (end == len(hay) or not hay[end].isalnum()):
            return True
        start = hay.find(needle, start + 1)
    return False


def first_of(text: str | None, phrases: Sequence[str], flags: int = re.IGNORECASE) -> str | None:
    """The phrase (as given) whose whole-word occurrence comes first in text; longer phrases win ties."""
    if not text:
        return None
    best: tuple[int, int, str] | None = None
    for p in phrases:
        m = re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text, flags)
        if m and (best is None or (m.start(), -len(p)) < best[:2]):
            best = (m.start(), -len(p), p)
    return best[2] if best else None
