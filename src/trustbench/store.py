"""SQLite store of responses and verdicts, content-addressed so runs resume and never redo work.

response key = hash(model identity, generation settings, prompt)
verdict key  = hash(judge identity and version, judged input)
Every write is its own committed transaction in WAL mode, so a killed run leaves no half-written row;
a write that fails rolls back. Any SQLite fault becomes one StoreError naming the file and what to do.
The schema version is kept in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from .core import GenerationSettings, Response, stable_hash
from .errors import TrustbenchError
from .secrets import mask

SCHEMA_VERSION = 1  # PRAGMA user_version of a store this code writes; a higher one is refused

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


class StoreError(TrustbenchError):
    """The store file cannot be opened, read or written; the message names the file and what to do."""

    exit_code = 1  # not the user's input: the environment (README "Exit status")


def store_error(path: Path, exc: BaseException) -> StoreError:
    """One clear message for an SQLite or OS fault on the store at `path`."""
    text = str(exc)
    low = text.lower()
    if "readonly" in low or "read-only" in low:
        return StoreError(f"Cannot write the store {path} ({text}): it is read-only. Make it (and its folder) writable, "
                          "or set TRUSTBENCH_HOME to a writable folder to start a new store there.")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return StoreError(f"The store {path} is damaged ({text}). Run `trustbench store repair` to salvage its readable "
                          "rows into a new store, restore it from a backup, or move it aside to start afresh "
                          "(responses are then generated again).")
    if "locked" in low or "busy" in low:
        return StoreError(f"The store {path} stayed locked by another process ({text}); retry when that process ends.")
    if "disk is full" in low or "no space" in low:
        return StoreError(f"Cannot write the store {path}: the disk is full. Free space, then run again.")
    if "unable to open" in low or isinstance(exc, OSError):
        return StoreError(f"Cannot open the store {path} ({text}): check that it is a readable, writable file in a "
                          "writable folder, or set TRUSTBENCH_HOME to another folder.")
    return StoreError(f"The store {path} failed: {text}. Run `trustbench store check` to examine it.")


class Store:
    """Thread-safe handle on the store file; one connection guarded by a lock."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            is_dir = self.path.is_dir()
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"The store folder {self.path.parent} (TRUSTBENCH_HOME) is a file or lies under one: "
                             "set TRUSTBENCH_HOME to a folder.") from None
        except OSError as exc:
            raise StoreError(f"Cannot create the store folder {self.path.parent} ({exc.strerror or exc}): set "
                             "TRUSTBENCH_HOME to a writable folder.") from None
        if is_dir:
            raise StoreError(f"The store {self.path} is a directory, not a file: move it aside or set TRUSTBENCH_HOME "
                             "to another folder.")
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=60, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"The store {self.path} has schema version {version}, newer than this trustbench "
                                 f"reads ({SCHEMA_VERSION}): upgrade trustbench or set TRUSTBENCH_HOME to another folder.")
            if version < SCHEMA_VERSION:  # new, or written before versions were recorded (same tables)
                self._db.executescript(_SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")
        except sqlite3.Error as exc:
            raise store_error(self.path, exc) from None

    @contextmanager
    def _guard(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; a write runs in a transaction that rolls back on any fault."""
        with self._lock:
            try:
                if write:
                    self._db.execute("BEGIN IMMEDIATE")
                yield self._db
                if write:
                    self._db.execute("COMMIT")
            except BaseException as exc:
                if write and self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(exc, sqlite3.Error):
                    raise store_error(self.path, exc) from None
                raise

    def check(self, writable: bool = True) -> None:
        """Raise StoreError unless the store passes `PRAGMA quick_check` (and, if asked, takes a write lock)."""
        with self._guard() as db:
            problems = [r[0] for r in db.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise store_error(self.path, sqlite3.DatabaseError("database disk image is malformed: " + "; ".join(problems[:3])))
        if writable:  # a header write inside a transaction that is rolled back: fails on a read-only file
            with self._lock:
                try:
                    self._db.execute("BEGIN IMMEDIATE")
                    try:
                        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    finally:
                        self._db.execute("ROLLBACK")
                except sqlite3.Error as exc:
                    raise store_error(self.path, exc) from None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- responses ---------------------------------------------------------------------------
    def get_responses(self, keys: Iterable[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        keys = list(dict.fromkeys(keys))
        with self._guard():
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, text, tokens in self._db.execute(
                    f"SELECT key, text, tokens FROM responses WHERE key IN ({marks})", chunk
                ):
                    found[key] = Response(text=text, tokens=tokens, cached=True)
        return found

    def put_response(self, key: str, model_id: str, settings: GenerationSettings, prompt: str, response: Response) -> None:
        self.put_responses([(key, model_id, settings, prompt, response)])

    def put_responses(self, rows: Sequence[tuple[str, str, GenerationSettings, str, Response]]) -> None:
        """Store responses in one transaction (failures are never stored: the next run retries them)."""
        now = time.time()
        data = [(key, model_id, json.dumps(settings.as_dict()), prompt, r.text, r.tokens, now)
                for key, model_id, settings, prompt, r in rows if r.text is not None]
        if not data:
            return
        with self._guard(write=True):
            self._db.executemany("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?)", data)

    # -- verdicts ----------------------------------------------------------------------------
    def get_verdicts(self, keys: Iterable[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        keys = list(dict.fromkeys(keys))
        with self._guard():
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
        data = [(k, mask(j), json.dumps(i, ensure_ascii=False, default=str), json.dumps(o, default=str), now)
                for k, j, i, o in rows]  # a judge id naming a URL keeps no credential
        if not data:
            return
        with self._guard(write=True):
            self._db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?,?,?,?,?)", data)

    def count(self, table: str = "responses") -> int:
        assert table in ("responses", "verdicts")
        with self._guard():
            return self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
