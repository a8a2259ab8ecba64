"""SQLite store of responses and verdicts, content-addressed so runs resume and never redo work.

response key = hash(model identity, generation settings, prompt)
verdict key  = hash(judge identity and version, judged input)
Every write is its own committed transaction in WAL mode, so a killed run leaves no half-written row.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .core import GenerationSettings, Response, stable_hash

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY, model TEXT NOT NULL, settings TEXT NOT NULL, prompt TEXT NOT NULL,
    text TEXT NOT NULL, tokens INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY, judge TEXT NOT NULL, input TEXT NOT NULL, output TEXT NOT NULL, created REAL NOT NULL);
"""


def response_key(model_id: str, settings: GenerationSettings, prompt: str) -> str:
    return stable_hash("response", model_id, settings.as_dict(), prompt)


def verdict_key(judge_id: str, judged_input: Any) -> str:
    return stable_hash("verdict", judge_id, judged_input)


class Store:
    """Thread-safe handle on the store file; one connection guarded by a lock."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- responses ---------------------------------------------------------------------------
    def get_responses(self, keys: Iterable[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, text, tokens in self._db.execute(
                    f"SELECT key, text, tokens FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = Response(text=text, tokens=tokens, cached=True)
        return found

    def put_response(self, key: str, model_id: str, settings: GenerationSettings, prompt: str, response: Response) -> None:
        if response.text is None:
            return  # failures are never stored: the next run retries them
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?)",
                (key, model_id, json.dumps(settings.as_dict()), prompt, response.text, response.tokens, time.time()),
            )

    # -- verdicts ----------------------------------------------------------------------------
    def get_verdicts(self, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        keys = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, output in self._db.execute(
                    f"SELECT key, output FROM verdicts WHERE key IN ({marks})", chunk
                ):
                    found[key] = json.loads(output)
        return found

    def put_verdicts(self, rows: Iterable[tuple[str, str, Any, Any]]) -> None:
        """rows: (key, judge id, judged input, output). Written in one transaction."""
        now = time.time()
        data = [(k, j, json.dumps(i, ensure_ascii=False, default=str), json.dumps(o, default=str), now) for k, j, i, o in rows]
        if not data:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?)", data)
            self._db.execute("COMMIT")

    def count(self, table: str = "responses") -> int:
        assert table in ("responses", "verdicts")
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
