"""Store faults: damaged, truncated, read-only stores give one message naming the file and what to do;
`trustbench store check|repair` examine a store and salvage its readable rows into a new one; writes roll back."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from trustbench.core import GenerationSettings, Response
from trustbench.store import SCHEMA_VERSION, Store, StoreError

CLI = [sys.executable, "-c", "from trustbench.cli import main; main()"]


def cli(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRUSTBENCH_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=120)


def filled(path: Path, n: int = 2000) -> Path:
    """A store of n responses and n verdicts, checkpointed into the main file (no WAL left beside it)."""
    s = Store(path)
    for i in range(n):
        s.put_response(f"r{i:05d}", "m", GenerationSettings(), f"prompt {i} " + "p" * 200, Response(text="t" * 300, tokens=i))
    s.put_verdicts([(f"v{i:05d}", "judge", {"i": i}, {"label": "x"}) for i in range(n)])
    s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


def test_schema_version_is_recorded(tmp_path):
    filled(tmp_path / "s.sqlite", 3)
    with sqlite3.connect(tmp_path / "s.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1


def test_newer_schema_is_refused(tmp_path):
    path = filled(tmp_path / "s.sqlite", 1)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match=r"schema version 99, newer than this trustbench reads \(1\)"):
        Store(path)


@pytest.mark.parametrize("damage, words", [
    ("garbage", "is damaged (file is not a database)"),
    ("truncated", "is damaged"),
    ("directory", "is a directory, not a file"),
])
def test_damaged_store_one_message(tmp_path, damage, words):
    path = tmp_path / "store.sqlite"
    if damage == "garbage":
        path.write_bytes(os.urandom(8192))
    elif damage == "truncated":
        data = filled(tmp_path / "full.sqlite").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.mkdir()
    with pytest.raises(StoreError) as info:
        s = Store(path)
        s.check()
    msg = str(info.value)
    assert str(path) in msg and words in msg
    assert info.value.exit_code == 1


def test_read_only_store_is_named_before_any_write(tmp_path):
    """Tests run as root, where chmod does not deny: the store is opened read-only through SQLite's URI instead."""
    path = filled(tmp_path / "s.sqlite", 2)
    s = Store(path)
    s._db.close()
    s._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
    assert len(s.get_responses(["r00000", "r00001"])) == 2  # reads still work
    with pytest.raises(StoreError, match="read-only") as info:
        s.check(writable=True)
    assert "resume" not in str(info.value)
    with pytest.raises(StoreError, match="read-only"):
        s.put_response("new", "m", GenerationSettings(), "p", Response(text="t", tokens=1))


def test_failed_write_rolls_back(tmp_path):
    """A verdict batch whose last row cannot be encoded leaves no row of the batch behind, and the store works on."""
    s = Store(tmp_path / "s.sqlite")

    class Unstorable:
        def __conform__(self, protocol):
            raise sqlite3.ProgrammingError("cannot store")

    with pytest.raises(StoreError):
        with s._guard(write=True) as db:
            db.execute("INSERT INTO verdicts VALUES ('a','j','{}','{}',1)")
            db.execute("INSERT INTO verdicts VALUES ('b','j','{}','{}',?)", (Unstorable(),))
    assert s.count("verdicts") == 0 and not s._db.in_transaction
    s.put_verdicts([("c", "j", {}, {"ok": 1})])
    assert s.count("verdicts") == 1


def test_store_check_and_repair_cli(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    good = filled(home / "store.sqlite", 2000)
    proc = cli("store", "check", home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "responses: 2000" in proc.stdout and "verdicts: 2000" in proc.stdout and "integrity: ok" in proc.stdout

    # damage pages in the middle of the file: some rows become unreadable, the rest must be salvaged
    data = bytearray(good.read_bytes())
    page = 4096
    n_pages = len(data) // page
    for p in range(n_pages // 3, n_pages // 3 + 4):
        data[p * page: (p + 1) * page] = b"\xff" * page
    damaged = home / "damaged.sqlite"
    damaged.write_bytes(bytes(data))
    proc = cli("store", "check", "--path", str(damaged), home=home)
    assert proc.returncode == 1 and "DAMAGED" in proc.stdout and "store repair" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr

    new = tmp_path / "repaired.sqlite"
    proc = cli("store", "repair", "--path", str(damaged), "--out", str(new), home=home)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in text, text
    with sqlite3.connect(new) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        responses = db.execute("SELECT key, tokens FROM responses ORDER BY key").fetchall()
        verdicts = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]
    # four 4 KiB pages hold at most ~40 of these ~550-byte rows; everything else must come back
    assert 1900 <= len(responses) < 2000 or 1900 <= verdicts < 2000, (len(responses), verdicts)
    assert len(responses) + verdicts >= 3900
    assert all(tokens == int(key[1:]) for key, tokens in responses)  # salvaged rows are intact, not garbled
    assert damaged.read_bytes() == bytes(data)  # the damaged store is never written
    assert f"{len(responses)} rows salvaged" in proc.stdout

    # the repaired store is usable as a store
    s = Store(new)
    s.check()
    assert len(s.get_responses([k for k, _ in responses[:10]])) == 10

    # repair never overwrites
    proc = cli("store", "repair", "--path", str(damaged), "--out", str(new), home=home)
    assert proc.returncode == 2 and "never overwrites" in proc.stderr


def test_repair_of_garbage_says_nothing_can_be_salvaged(tmp_path):
    bad = tmp_path / "store.sqlite"
    bad.write_bytes(os.urandom(10000))
    proc = cli("store", "repair", "--path", str(bad), home=tmp_path)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2 and "nothing can be salvaged" in text and str(bad) in text and "Traceback" not in text
