"""`trustbench store check | repair`: examine the response/verdict store and salvage a damaged one.

`check` opens the store read-only and reports its schema version, row counts and `PRAGMA quick_check`.
`repair` copies every row that still reads (and has the right shape) into a NEW store file; the damaged
file is never written, so a failed repair loses nothing. Rows are read in rowid order; where a damaged
page stops the scan, the reader skips ahead (1, 2, 4, ... rowids) until rows read again.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Optional

import typer
from rich.console import Console

from ..errors import TrustbenchError

out = Console(emoji=False, highlight=False, markup=False, soft_wrap=True)
store_app = typer.Typer(no_args_is_help=True, help="Check or repair the response/verdict store.")

# table -> (column names, the Python type each must have); mirrors store._SCHEMA
TABLES: dict[str, tuple[tuple[str, tuple[type, ...]], ...]] = {
    "responses": (("key", (str,)), ("model", (str,)), ("settings", (str,)), ("prompt", (str,)), ("text", (str,)),
                  ("tokens", (int,)), ("created", (float, int))),
    "verdicts": (("key", (str,)), ("judge", (str,)), ("input", (str,)), ("output", (str,)), ("created", (float, int))),
}
MAX_SKIP = 1 << 40  # beyond any rowid a store reaches: the scan ends there


@dataclass
class Salvage:
    """What a scan of one table read: good rows, rows of the wrong shape, rowid ranges that could not be read."""

    rows: list[tuple[Any, ...]] = field(default_factory=list)
    bad_rows: int = 0
    unreadable: list[tuple[int, int]] = field(default_factory=list)


def _path(path: Path | None) -> Path:
    from ..config import store_path

    return (path or store_path()).expanduser()


def _open_ro(path: Path) -> sqlite3.Connection:
    """Open read-only (never creates or modifies the file), or raise one clear error."""
    if not path.exists():
        raise TrustbenchError(f"No store at {path}: nothing to check (a run creates it).")
    if path.is_dir():
        raise TrustbenchError(f"The store {path} is a directory, not a file: move it aside.")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.Error as exc:
        raise TrustbenchError(f"{path} cannot be read as an SQLite database ({exc}): nothing can be salvaged from it; "
                              "restore it from a backup or move it aside to start a new store.") from None


def _valid(row: tuple[Any, ...], columns: tuple[tuple[str, tuple[type, ...]], ...]) -> bool:
    if len(row) != len(columns) or any(not isinstance(v, t) or isinstance(v, bool) for v, (_, t) in zip(row, columns)):
        return False
    if len(columns) == 5:  # verdicts: output must be JSON, as get_verdicts reads it
        try:
            json.loads(row[3])
        except ValueError:
            return False
    return True


def scan(db: sqlite3.Connection, table: str) -> Salvage:
    """Every readable row of `table`, in rowid order, skipping ahead past damaged pages."""
    columns = TABLES[table]
    names = ", ".join(c for c, _ in columns)
    got = Salvage()
    last = -(1 << 62)
    while True:
        try:
            for rowid, *row in db.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid", (last,)):
                last = rowid
                if _valid(tuple(row), columns):
                    got.rows.append(tuple(row))
                else:
                    got.bad_rows += 1
            return got
        except sqlite3.Error:
            start, step = last + 1, 1
            while step < MAX_SKIP:  # find the next rowid from which reading works again
                try:
                    db.execute(f"SELECT rowid FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 1", (last + step,)).fetchall()
                    break
                except sqlite3.Error:
                    step *= 2
            got.unreadable.append((start, last + step))
            if step >= MAX_SKIP:
                return got
            last += step


def _counts(db: sqlite3.Connection) -> Iterator[tuple[str, str]]:
    for table in TABLES:
        try:
            yield table, str(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        except sqlite3.Error as exc:
            yield table, f"unreadable ({exc})"


@store_app.command("check")
def check(path: Optional[Path] = typer.Option(None, "--path", help="Store file (default: TRUSTBENCH_HOME/store.sqlite).")) -> None:
    """Report the store's schema version, row counts and integrity; exit 1 if it is damaged."""
    from ..store import SCHEMA_VERSION

    p = _path(path)
    db = _open_ro(p)
    try:
        try:
            problems = [r[0] for r in db.execute("PRAGMA quick_check")]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as exc:
            problems, version = [str(exc)], None
        out.print(f"store: {p} ({p.stat().st_size} bytes)")
        out.print(f"schema version: {version} (this trustbench writes {SCHEMA_VERSION})")
        for table, n in _counts(db):
            out.print(f"{table}: {n}")
    finally:
        db.close()
    if problems == ["ok"] and version is not None and version <= SCHEMA_VERSION:
        out.print("integrity: ok")
        return
    out.print("integrity: DAMAGED: " + "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    out.print(f"salvage the readable rows with: trustbench store repair --path {p}")
    raise typer.Exit(1)


@store_app.command("repair")
def repair(
    path: Optional[Path] = typer.Option(None, "--path", help="Damaged store (default: TRUSTBENCH_HOME/store.sqlite)."),
    to: Optional[Path] = typer.Option(None, "--out", "-o", help="New store file to write (default: beside the old one)."),
) -> None:
    """Copy every readable row of a store into a new store file; the damaged one is left untouched."""
    from ..store import Store

    p = _path(path)
    target = (to or p.with_name(f"{p.stem}.repaired-{datetime.now().strftime('%Y%m%d-%H%M%S')}{p.suffix}")).expanduser()
    if target.exists():
        raise TrustbenchError(f"--out {target} exists: name a new file, the repair never overwrites one.")
    if target.resolve() == p.resolve():
        raise TrustbenchError("--out must differ from the damaged store.")
    db = _open_ro(p)
    try:
        found = {table: scan(db, table) for table in TABLES}
    finally:
        db.close()
    new = Store(target)
    try:
        with new._guard(write=True) as conn:  # one transaction: a repair that fails leaves no half-written store rows
            for table, got in found.items():
                marks = ",".join("?" * len(TABLES[table]))
                conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", got.rows)
    finally:
        new.close()
    for table, got in found.items():
        holes = sum(b - a + 1 for a, b in got.unreadable)
        out.print(f"{table}: {len(got.rows)} rows salvaged, {got.bad_rows} malformed rows dropped"
                  + (f", unreadable rowid ranges: {len(got.unreadable)} (~{holes} rowids)" if got.unreadable else ""))
    out.print(f"new store: {target}")
    out.print(f"to use it: move {p} aside, then rename {target} to {p} (or point TRUSTBENCH_HOME at its folder "
              "after renaming it store.sqlite)")


def register(app: typer.Typer) -> None:
    app.add_typer(store_app, name="store")
