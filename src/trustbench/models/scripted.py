"""Scripted backends: deterministic answers without a model, for tests, fault drills and scaling simulations.

    echo[,text=T]           answers every prompt with the prompt itself (or with T)
    scripted:FILE.json      answers by the first rule whose regex matches the prompt:
        {"default": "text", "rules": [{"match": "REGEX", "response": "..."},
                                      {"match": "REGEX", "error": "HTTP 500: boom"},
                                      {"match": "REGEX", "empty": true}],
         "latency": 0.0, "fail_every": 0}

Options (spec or file; the spec wins): `latency` seconds slept per request (a slow server), `fail_every` N
(every Nth request fails), `log` a file to which each generated request appends one line `KEY<TAB>PID`
(tests count real generate calls with it). Tokens are whitespace-separated words. A scripted backend's id
holds the file's sha256, so an edited script never reuses stale cached responses; latency, fail_every and
log change no stored answer and stay out of the id.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend


class _Rule:
    """One `rules` entry: a compiled regex and what to answer when it matches."""

    def __init__(self, raw: Any, where: str):
        if not isinstance(raw, dict) or not isinstance(raw.get("match"), str):
            raise TrustbenchError(f"{where}: each rule needs a 'match' regex string")
        try:
            self.pattern = re.compile(raw["match"])
        except re.error as exc:
            raise TrustbenchError(f"{where}: bad regex {raw['match']!r}: {exc}") from None
        kinds = [k for k in ("response", "error", "empty") if k in raw]
        if len(kinds) != 1:
            raise TrustbenchError(f"{where}: give exactly one of 'response', 'error' or 'empty'")
        self.kind, self.value = kinds[0], raw[kinds[0]]
        if self.kind != "empty" and not isinstance(self.value, str):
            raise TrustbenchError(f"{where}: '{self.kind}' should be a string")


class _Base(ModelBackend):
    """Shared request loop: latency, periodic failures and the generate log."""

    def __init__(self, latency: float, fail_every: int, log: str | None):
        if latency < 0 or fail_every < 0:
            raise TrustbenchError(f"{self.id}: latency and fail_every must be >= 0")
        self.latency, self.fail_every = latency, fail_every
        self.log = Path(log).expanduser() if log else None
        self.calls = 0

    def answer(self, prompt: str) -> Response:
        raise NotImplementedError

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        for req in requests:
            if self.latency:
                time.sleep(self.latency)
            self.calls += 1
            if self.fail_every and self.calls % self.fail_every == 0:
                resp = Response(text=None, error=f"scripted failure (every {self.fail_every}th request)")
            else:
                resp = self.answer(req.prompt)
            if self.log is not None:  # one short O_APPEND write: lines from concurrent replicas never interleave
                with self.log.open("a", encoding="utf-8") as fh:
                    fh.write(f"{req.key}\t{os.getpid()}\n")
            yield req, resp


def _words(text: str) -> int:
    return len(text.split())


class EchoBackend(_Base):
    """Answers each prompt with itself, or with a fixed text."""

    def __init__(self, text: str | None = None, *, latency: float = 0.0, fail_every: int = 0, log: str | None = None):
        self.text = text
        self.id = "echo" + ("" if text is None else f",text={text}")
        super().__init__(latency, fail_every, log)

    def answer(self, prompt: str) -> Response:
        out = prompt if self.text is None else self.text
        return Response(text=out, tokens=_words(out))


class ScriptedBackend(_Base):
    """Answers by regex rules read from a JSON file."""

    def __init__(self, path: str, *, latency: float | None = None, fail_every: int | None = None, log: str | None = None):
        p = Path(path).expanduser()
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise TrustbenchError(f"scripted:{path}: cannot read the script: {exc.strerror or exc}") from None
        try:
            script = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise TrustbenchError(f"scripted:{path}: not valid JSON ({exc})") from None
        if not isinstance(script, dict):
            raise TrustbenchError(f"scripted:{path}: expected a JSON object with 'default' and 'rules'")
        unknown = set(script) - {"default", "rules", "latency", "fail_every"}
        if unknown:
            raise TrustbenchError(f"scripted:{path}: unknown keys {', '.join(sorted(unknown))}")
        self.default = script.get("default", "")
        if not isinstance(self.default, str):
            raise TrustbenchError(f"scripted:{path}: 'default' should be a string")
        rules = script.get("rules", [])
        if not isinstance(rules, list):
            raise TrustbenchError(f"scripted:{path}: 'rules' should be a list")
        self.rules = [_Rule(r, f"scripted:{path}, rule {i}") for i, r in enumerate(rules)]
        self.id = f"scripted:{p.name}#{hashlib.sha256(raw).hexdigest()[:16]}"
        try:
            lat = float(script.get("latency", 0.0) if latency is None else latency)
            every = int(script.get("fail_every", 0) if fail_every is None else fail_every)
        except (TypeError, ValueError):
            raise TrustbenchError(f"scripted:{path}: 'latency' should be a number, 'fail_every' an integer") from None
        super().__init__(lat, every, log)

    def answer(self, prompt: str) -> Response:
        for rule in self.rules:
            if rule.pattern.search(prompt):
                if rule.kind == "error":
                    return Response(text=None, error=rule.value)
                if rule.kind == "empty":
                    return Response(text="", tokens=0)
                return Response(text=rule.value, tokens=_words(rule.value))
        return Response(text=self.default, tokens=_words(self.default))
