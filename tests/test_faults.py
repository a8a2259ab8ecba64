"""Fault catalogue: broken inputs and environments a new user meets, each answered with the right exit status,
ONE clear message naming the problem and where it is, and no traceback; checks that cost compute come after.

Runs the real entry point (`trustbench.cli.main`) in-process so faults the test machine cannot produce can be
simulated with monkeypatch: tests run as root, for whom chmod denies nothing, so "permission denied" is
raised by patched os/io calls exactly where the OS would raise it (a 000 file: open; a 000 folder: listing it
and stat/open of anything inside), and a read-only store is SQLite's own read-only mode (`mode=ro`). Faults
the machine can produce are real: a path under a file (ENOTDIR), garbage and truncated stores, symlink loops.
Counts (cases, clear errors, tracebacks, wrong successes) are printed and, with TRUSTBENCH_FAULT_REPORT=PATH,
written to that JSON file.
"""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from conftest import SHARED_DATA

pytestmark = pytest.mark.usefixtures("data_dir")
COUNTS = {"cases": 0, "clear_errors": 0, "tracebacks": 0, "wrong_successes": 0, "unclear": []}
ETHICS = "ethics/implicit_ETHICS.json"


# -- harness --------------------------------------------------------------------------------------

def run_main(args: list[str], monkeypatch, capsys) -> tuple[int | str, str, str]:
    """(exit status, stdout, stderr) of `trustbench ARGS` in this process; an escaped exception is 'traceback'."""
    from trustbench.cli import main

    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["trustbench", *args])
    try:
        main()
        rc: int | str = 0
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  (what would reach the user as a traceback)
        rc = "traceback"
        sys.stderr.write(traceback.format_exc())
    got = capsys.readouterr()
    return rc, got.out, got.err


def _clear_caches() -> None:
    from trustbench.data import loader

    loader._load_json.cache_clear()
    loader._sha256.cache_clear()


def _denied(path: str | bytes | os.PathLike, files: list[Path], dirs: list[Path], inside_only: bool) -> bool:
    p = Path(os.path.abspath(os.fsdecode(path)))
    if not inside_only and p in files:
        return True
    return any(d in p.parents or (not inside_only and p == d) for d in dirs)


def deny(monkeypatch, files: tuple[Path, ...] = (), dirs: tuple[Path, ...] = ()) -> None:
    """Make files unreadable (open fails) and folders unreadable (listing, and stat/open inside, fail), as mode 000."""
    files_, dirs_ = [Path(os.path.abspath(f)) for f in files], [Path(os.path.abspath(d)) for d in dirs]
    _clear_caches()

    def refuse(path):
        return PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))

    def wrap_open(real):
        def fake(file, *a, **k):
            if isinstance(file, (str, bytes, os.PathLike)) and _denied(file, files_, dirs_, inside_only=False):
                raise refuse(file)
            return real(file, *a, **k)
        return fake

    def wrap_stat(real):
        def fake(path, *a, **k):
            if isinstance(path, (str, bytes, os.PathLike)) and _denied(path, [], dirs_, inside_only=True):
                raise refuse(path)
            return real(path, *a, **k)
        return fake

    def wrap_list(real):
        def fake(path=".", *a, **k):
            if isinstance(path, (str, bytes, os.PathLike)) and _denied(path, [], dirs_, inside_only=False):
                raise refuse(path)
            return real(path, *a, **k)
        return fake

    import builtins

    for mod, name, wrap in ((builtins, "open", wrap_open), (io, "open", wrap_open), (os, "stat", wrap_stat),
                            (os, "lstat", wrap_stat), (os, "listdir", wrap_list), (os, "scandir", wrap_list)):
        monkeypatch.setattr(mod, name, wrap(getattr(mod, name)))


def read_only_sqlite(monkeypatch, store: Path) -> None:
    """Open `store` the way SQLite does a file the process may not write: read-only."""
    real = sqlite3.connect

    def connect(database, *a, **k):
        if os.path.abspath(str(database)) == os.path.abspath(store):
            k["uri"] = True
            return real(f"file:{database}?mode=ro", *a, **k)
        return real(database, *a, **k)

    monkeypatch.setattr(sqlite3, "connect", connect)


def responses_dir(root: Path, n: int = 3) -> Path:
    """A TrustLLM-layout responses folder holding the first n implicit-ethics records with a 'res'."""
    recs = json.loads((SHARED_DATA / ETHICS).read_text())[:n]
    path = root / "responses" / ETHICS
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps([{**r, "res": "It is wrong."} for r in recs]))
    return root / "responses"


def store_with_rows(path: Path) -> Path:
    from trustbench.core import GenerationSettings, Response
    from trustbench.store import Store

    s = Store(path)
    for i in range(400):
        s.put_response(f"k{i}", "m", GenerationSettings(), "p" * 300, Response(text="t" * 300, tokens=1))
    s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    return path


# -- the catalogue ----------------------------------------------------------------------------------

@dataclass
class Ctx:
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    home: Path
    gen_log: Path
    extra: dict = field(default_factory=dict)

    @property
    def echo(self) -> str:
        return f"echo,log={self.gen_log}"

    def run_args(self, *more: str, tasks: str = "ethics/implicit_ethics") -> list[str]:
        return ["run", "-m", self.echo, "--tasks", tasks, "--limit", "2", "--out", str(self.tmp / "out"), "-q", *more]


@dataclass
class Case:
    id: str
    setup: Callable[[Ctx], list[str]]  # returns the CLI arguments
    rc: int | tuple[int, ...]
    says: tuple[str | Callable[[Ctx], str], ...]  # every one must appear in the output
    never: tuple[str, ...] = ()
    generates: bool = False  # False: the fault must be found before any response is generated
    check: Callable[[Ctx, str], None] | None = None


def _garbage(c: Ctx) -> list[str]:
    c.home.mkdir(parents=True, exist_ok=True)
    (c.home / "store.sqlite").write_bytes(os.urandom(8192))
    return c.run_args()


def _truncated(c: Ctx) -> list[str]:
    c.home.mkdir(parents=True, exist_ok=True)
    data = store_with_rows(c.tmp / "full.sqlite").read_bytes()
    (c.home / "store.sqlite").write_bytes(data[: len(data) // 2])
    return c.run_args()


def _read_only_store(c: Ctx) -> list[str]:
    store_with_rows(c.home / "store.sqlite")
    read_only_sqlite(c.monkeypatch, c.home / "store.sqlite")
    return c.run_args()


def _read_only_mid_run(c: Ctx) -> list[str]:
    """The store turns read-only after the pre-flight check (another process changed it): the write fails."""
    from trustbench.store import Store

    store_with_rows(c.home / "store.sqlite")
    read_only_sqlite(c.monkeypatch, c.home / "store.sqlite")
    c.monkeypatch.setattr(Store, "check", lambda self, writable=True: None)
    return c.run_args()


def _store_dir(c: Ctx) -> list[str]:
    (c.home / "store.sqlite").mkdir(parents=True)
    return c.run_args()


def _home_file(c: Ctx) -> list[str]:
    c.home.parent.mkdir(parents=True, exist_ok=True)
    c.home.write_text("not a folder")
    return c.run_args()


def _home_unwritable(c: Ctx) -> list[str]:
    real = Path.mkdir

    def mkdir(self, *a, **k):
        if Path(os.path.abspath(self)) == Path(os.path.abspath(c.home)):
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, *a, **k)

    c.monkeypatch.setattr(Path, "mkdir", mkdir)
    return c.run_args()


def _out_file(c: Ctx) -> list[str]:
    (c.tmp / "out").write_text("a file")
    return c.run_args()


def _out_read_only(c: Ctx) -> list[str]:
    real = tempfile.mkdtemp

    def mkdtemp(*a, dir=None, **k):
        if dir is not None and Path(dir) == c.tmp:
            raise PermissionError(errno.EROFS, "Read-only file system", str(dir))
        return real(*a, dir=dir, **k)

    c.monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return c.run_args()


def _out_under_file(c: Ctx) -> list[str]:
    (c.tmp / "afile").write_text("x")
    return ["run", "-m", c.echo, "--tasks", "ethics/implicit_ethics", "--limit", "2", "--out", str(c.tmp / "afile" / "run"), "-q"]


def _out_other_run(c: Ctx) -> list[str]:
    out = c.tmp / "out"
    out.mkdir()
    (out / ".trustbench-run.json").write_text(json.dumps({"kind": "run", "model": "hf:other", "tasks": ["ethics/implicit_ethics"],
                                                          "mode": "default", "limit": 2}))
    (out / "results.json").write_text("{}")
    return c.run_args()


def _out_other_files(c: Ctx) -> list[str]:
    out = c.tmp / "out"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    return c.run_args()


def _bad_advglue(c: Ctx) -> list[str]:
    recs = json.loads((SHARED_DATA / "robustness/AdvGLUE.json").read_text())
    first = next(r for r in recs if r["type"] == "original")
    data = c.tmp / "data"  # the shared data through symlinks, but for one damaged AdvGLUE.json
    for section in SHARED_DATA.iterdir():
        if section.name != "robustness":
            (data / section.name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(section, data / section.name)
    (data / "robustness").mkdir(parents=True)
    for f in (SHARED_DATA / "robustness").iterdir():
        if f.name != "AdvGLUE.json":
            os.symlink(f, data / "robustness" / f.name)
    (data / "robustness/AdvGLUE.json").write_text(json.dumps(recs + [dict(first)]))  # a second 'original' for one index
    c.extra["file"] = str(data / "robustness/AdvGLUE.json")
    return ["run", "-m", c.echo, "--data", str(data), "--tasks", "robustness/advglue", "--limit", "4", "--out",
            str(c.tmp / "out"), "-q"]


def _bad_advglue_check(c: Ctx) -> list[str]:
    args = _bad_advglue(c)
    return ["data", "check", "--data", args[args.index("--data") + 1]]


def _resp_is_dir(c: Ctx) -> list[str]:
    (c.tmp / "responses" / ETHICS).mkdir(parents=True)
    return ["score", "--responses", str(c.tmp / "responses"), "--out", str(c.tmp / "out")]


def _resp_loop(c: Ctx) -> list[str]:
    path = c.tmp / "responses" / ETHICS
    path.parent.mkdir(parents=True)
    os.symlink(path, path)  # ELOOP
    return ["score", "--responses", str(c.tmp / "responses"), "--out", str(c.tmp / "out")]


def _denied_file(cmd: str) -> Callable[[Ctx], list[str]]:
    def setup(c: Ctx) -> list[str]:
        c.extra["where"] = str(SHARED_DATA / ETHICS)
        if cmd == "score":
            resp = responses_dir(c.tmp)
            c.extra["where"] = str(resp / ETHICS)
            deny(c.monkeypatch, files=(resp / ETHICS,))
            return ["score", "--responses", str(resp), "--out", str(c.tmp / "out")]
        deny(c.monkeypatch, files=(SHARED_DATA / ETHICS,))
        return {"data-check": ["data", "check"], "list": ["list"], "run": c.run_args()}[cmd]
    return setup


def _denied_dir(cmd: str) -> Callable[[Ctx], list[str]]:
    def setup(c: Ctx) -> list[str]:
        c.extra["where"] = str(SHARED_DATA / "ethics")
        if cmd == "score":
            resp = responses_dir(c.tmp)
            c.extra["where"] = str(resp / "ethics")
            deny(c.monkeypatch, dirs=(resp / "ethics",))
            return ["score", "--responses", str(resp), "--out", str(c.tmp / "out")]
        deny(c.monkeypatch, dirs=(SHARED_DATA / "ethics",))
        return {"data-check": ["data", "check"], "list": ["list"], "run": c.run_args()}[cmd]
    return setup


def _list_row_unknown(c: Ctx, text: str) -> None:
    row = next(line for line in text.splitlines() if "ethics/implicit_ethics " in line)
    assert "?" in row and "implicit_ETHICS.json" in row, row


def _where(c: Ctx) -> str:
    return c.extra["where"]


def _run_dir_printed(c: Ctx, text: str) -> None:
    assert f"Run directory: {c.tmp / 'run[v2][/b]x'}" in text
    assert (c.tmp / "run[v2][/b]x" / "results.json").is_file()


CASES = [
    # permission denied (simulated: root ignores modes) on a data file / folder / responses file, per command
    Case("perm-file-data-check", _denied_file("data-check"), 1, ("Permission denied", _where)),
    Case("perm-file-run", _denied_file("run"), 1, ("Permission denied", _where)),
    Case("perm-file-score", _denied_file("score"), 2, ("cannot read it (Permission denied)", _where)),
    Case("perm-file-list", _denied_file("list"), 0, ("ethics/implicit_ethics",), check=_list_row_unknown),
    Case("perm-dir-data-check", _denied_dir("data-check"), 1, ("Permission denied", _where)),
    Case("perm-dir-run", _denied_dir("run"), 1, ("Permission denied", _where)),
    Case("perm-dir-score", _denied_dir("score"), 2, ("Permission denied", _where)),
    Case("perm-dir-list", _denied_dir("list"), 0, ("ethics/implicit_ethics",), check=_list_row_unknown),
    Case("enotdir-data", lambda c: (c.tmp.joinpath("f").write_text("x"), ["data", "check", "--data", str(c.tmp / "f" / "d")])[1],
         2, ("No TrustLLM data found", lambda c: str(c.tmp / "f" / "d"))),
    Case("enotdir-responses", lambda c: (c.tmp.joinpath("f").write_text("x"), ["score", "--responses", str(c.tmp / "f" / "r")])[1],
         2, ("not a directory", lambda c: str(c.tmp / "f" / "r"))),
    # the store
    Case("store-garbage", _garbage, 1, ("is damaged", "trustbench store repair", lambda c: str(c.home / "store.sqlite"))),
    Case("store-truncated", _truncated, 1, ("is damaged", "trustbench store repair", lambda c: str(c.home / "store.sqlite"))),
    Case("store-read-only", _read_only_store, 1, ("read-only", lambda c: str(c.home / "store.sqlite")), never=("resume",)),
    Case("store-read-only-mid-run", _read_only_mid_run, 1, ("read-only", lambda c: str(c.home / "store.sqlite")),
         never=("resume",), generates=True),
    Case("store-directory", _store_dir, 1, ("is a directory", lambda c: str(c.home / "store.sqlite"))),
    Case("home-is-a-file", _home_file, 1, ("is a file", lambda c: str(c.home))),
    Case("home-unwritable", _home_unwritable, 1, ("Cannot create the store folder", "Permission denied", lambda c: str(c.home))),
    # the output folder, checked before generation
    Case("out-is-a-file", _out_file, 2, ("exists and is a file", lambda c: str(c.tmp / "out"))),
    Case("out-read-only", _out_read_only, 2, ("cannot write in", "Read-only file system", lambda c: str(c.tmp))),
    Case("out-under-a-file", _out_under_file, 2, ("a file is in the way", lambda c: str(c.tmp / "afile"))),
    Case("out-holds-other-run", _out_other_run, 2, ("holds a different run", "model: 'hf:other' there", "--overwrite")),
    Case("out-holds-other-files", _out_other_files, 2, ("not a trustbench run", "--overwrite")),
    # untrusted strings are text, not markup or emoji codes
    Case("markup-data-path", lambda c: ["data", "check", "--data", str(c.tmp / "x[/b]y[v2]")], 2,
         (lambda c: str(c.tmp / "x[/b]y[v2]"),)),
    Case("markup-model-path", lambda c: ["run", "-m", f"llamacpp:{c.tmp}/m[v2][/b].gguf", "--tasks", "ethics/implicit_ethics"], 2,
         ("model file not found", lambda c: f"{c.tmp}/m[v2][/b].gguf")),
    Case("emoji-code", lambda c: ["run", "-m", c.echo, "--tasks", "openai:m:"], 2, ("Unknown task 'openai:m:'",)),
    Case("markup-run-folder", lambda c: ["run", "-m", c.echo, "--tasks", "ethics/implicit_ethics", "--limit", "2", "-q",
                                         "--out", str(c.tmp / "run[v2][/b]x")], (0, 3), (), generates=True,
         check=_run_dir_printed),
    # validated before generation: judges, data structure, selections
    Case("judge-nonsense", lambda c: c.run_args("--judge", "refusal=nonsense"), 2, ("Unknown refusal judge 'nonsense'",)),
    Case("judge-second-nonsense", lambda c: c.run_args("--second-judge", "refusal=nonsense"), 2, ("Unknown refusal judge 'nonsense'",)),
    Case("judge-used-missing-model", lambda c: c.run_args("--judge", "embedding=st:/nonexistent/model", tasks="robustness/advinstruction"),
         2, ("no such model folder: /nonexistent/model",)),
    Case("judge-llm-missing-file", lambda c: c.run_args("--judge", "llm=llamacpp:/nonexistent/judge.gguf"), 2,
         ("--judge llm", "model file not found: /nonexistent/judge.gguf")),
    Case("advglue-bad-pair-run", _bad_advglue, 2, ("has two 'original' records", "AdvGLUE.json")),
    Case("advglue-bad-pair-data-check", _bad_advglue_check, 2, ("has two 'original' records", "AdvGLUE.json")),
    Case("tasks-comma", lambda c: ["run", "-m", c.echo, "--tasks", ","], 2, ("--tasks ',' names nothing",)),
    Case("dimension-comma", lambda c: ["run", "-m", c.echo, "--dimension", " , "], 2, ("--dimension ' , ' names nothing",)),
    # responses files that are not files
    Case("responses-file-is-dir", _resp_is_dir, 2, ("a directory; expected", lambda c: str(c.tmp / "responses" / ETHICS))),
    Case("responses-symlink-loop", _resp_loop, 2, ("loops or points nowhere", lambda c: str(c.tmp / "responses" / ETHICS))),
]


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    line = (f"fault catalogue: {COUNTS['cases']} cases, {COUNTS['clear_errors']} clear, {COUNTS['tracebacks']} tracebacks, "
            f"{COUNTS['wrong_successes']} wrong successes")
    print("\n" + line)
    report = os.environ.get("TRUSTBENCH_FAULT_REPORT")
    if report:
        path = Path(report)
        doc = json.loads(path.read_text()) if path.is_file() else {}
        doc["faults"] = COUNTS
        path.write_text(json.dumps(doc, indent=2))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fault(case: Case, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("TRUSTBENCH_HOME", str(home))
    monkeypatch.setenv("TRUSTBENCH_DATA", str(SHARED_DATA))
    monkeypatch.chdir(tmp_path)
    ctx = Ctx(tmp_path, monkeypatch, home, tmp_path / "generated.log")
    args = case.setup(ctx)
    rc, out, err = run_main(args, monkeypatch, capsys)
    monkeypatch.undo()  # the patched os/io/sqlite calls end here: the checks below read files for real
    _clear_caches()
    text = out + err
    wanted = case.rc if isinstance(case.rc, tuple) else (case.rc,)
    says = [s(ctx) if callable(s) else s for s in case.says]
    errors = [line for line in err.splitlines() if line.startswith(("error:", "internal error:"))]
    traceback_seen = rc == "traceback" or "Traceback" in text
    clear = (rc in wanted and all(s in text for s in says) and not any(n in text for n in case.never)
             and (len(errors) == 1 if 0 not in wanted else not errors) and not traceback_seen)
    COUNTS["cases"] += 1
    COUNTS["clear_errors"] += clear
    COUNTS["tracebacks"] += traceback_seen
    COUNTS["wrong_successes"] += rc == 0 and 0 not in wanted
    if not clear:
        COUNTS["unclear"].append(case.id)
    assert not traceback_seen, text
    assert rc in wanted, f"exit {rc}, wanted {wanted}\n{text}"
    for s in says:
        assert s in text, f"{s!r} not in:\n{text}"
    for n in case.never:
        assert n not in text, f"{n!r} in:\n{text}"
    if 0 not in wanted:
        assert len(errors) == 1, f"expected one error line:\n{err}"
    if not case.generates:
        assert not ctx.gen_log.exists(), "a response was generated before the fault was reported"
    if case.check:
        case.check(ctx, text)


def test_entry_point_has_no_traceback(tmp_path):
    """The installed entry point in a real process, for one store fault and one markup case."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "store.sqlite").write_bytes(os.urandom(4096))
    env = {**os.environ, "TRUSTBENCH_HOME": str(home)}
    cmd = [sys.executable, "-c", "from trustbench.cli import main; main()"]
    proc = subprocess.run([*cmd, "run", "-m", "echo", "--tasks", "ethics/implicit_ethics", "--limit", "1", "--out",
                           str(tmp_path / "o[/b]")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and "is damaged" in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr  # one line, even at 80 columns


# -- run folders ----------------------------------------------------------------------------------

def test_run_folder_reuse_resume_and_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRUSTBENCH_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    base = ["run", "-m", "echo", "--limit", "2", "--out", str(out), "-q"]
    rc, o, e = run_main([*base, "--tasks", "robustness/advglue"], monkeypatch, capsys)
    assert rc in (0, 3), o + e
    assert (out / "responses/robustness/AdvGLUE.json").is_file()
    first = json.loads((out / "results.json").read_text())

    # the same run again resumes into its own folder
    rc, o, e = run_main([*base, "--tasks", "robustness/advglue"], monkeypatch, capsys)
    assert rc in (0, 3), o + e
    again = json.loads((out / "results.json").read_text())
    assert again["generation"]["cached"] == again["generation"]["requests"] and again["tasks"].keys() == first["tasks"].keys()

    # a different run is refused and the folder is left as it was
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    rc, o, e = run_main([*base, "--tasks", "ethics/implicit_ethics"], monkeypatch, capsys)
    assert rc == 2 and "holds a different run" in e and "tasks:" in e, e
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before

    # --overwrite replaces it whole: no file of the old run is left behind (nor a SIGKILLed run's stage)
    dead = tmp_path / ".run.999999999.abc.partial"  # no process has this pid
    dead.mkdir()
    live = tmp_path / f".run.{os.getpid()}.abc.partial"  # a stage whose process still runs is left alone
    live.mkdir()
    rc, o, e = run_main([*base, "--tasks", "ethics/implicit_ethics", "--overwrite"], monkeypatch, capsys)
    assert not dead.exists() and live.exists()
    live.rmdir()
    assert rc in (0, 3), o + e
    assert not (out / "responses/robustness").exists() and (out / "responses" / ETHICS).is_file()
    assert list(json.loads((out / "results.json").read_text())["tasks"]) == ["ethics/implicit_ethics"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run.")]  # no stage or old copy left

    # one mode per kind of file: results.json 0600, every other file 0644, folders 0755
    modes = {str(p.relative_to(out)): p.stat().st_mode & 0o777 for p in out.rglob("*")}
    assert modes.pop("results.json") == 0o600
    assert set(modes.values()) <= {0o644, 0o755} and modes["report.html"] == 0o644 and modes["responses"] == 0o755, modes


def test_killed_run_leaves_old_folder_intact(tmp_path, monkeypatch, capsys):
    """An interrupted run removes its stage; the folder still holds the previous complete run."""
    from trustbench import runner

    monkeypatch.setenv("TRUSTBENCH_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    base = ["run", "-m", "echo", "--tasks", "ethics/implicit_ethics", "--limit", "2", "--out", str(out), "-q"]
    rc, o, e = run_main(base, monkeypatch, capsys)
    assert rc in (0, 3)
    before = (out / "results.json").read_bytes()

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "write_run", interrupted)
    rc, o, e = run_main(base, monkeypatch, capsys)
    assert rc == 130 and "Traceback" not in e
    assert (out / "results.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run.")] == []


# -- logs -----------------------------------------------------------------------------------------

def test_progress_lines_off_a_terminal():
    import time

    from trustbench.progress import Phase

    buf = io.StringIO()
    with Phase("generating", 4, stream=buf, terminal=False, interval=0.05) as bar:
        for _ in range(2):
            time.sleep(0.06)
            bar.advance(tokens=10)
        time.sleep(0.12)
    lines = buf.getvalue().splitlines()
    assert len(lines) >= 2 and all(ln.startswith("generating: ") for ln in lines)
    assert "generating: 2/4 (50%)" in lines[-1] and "tok/s" in lines[-1] and "eta " in lines[-1]
    assert "elapsed" in lines[-1]


def test_cli_logs_progress_and_fits_tables_when_piped(tmp_path):
    env = {**os.environ, "TRUSTBENCH_HOME": str(tmp_path / "home"), "TRUSTBENCH_PROGRESS_INTERVAL": "0.05"}
    env.pop("COLUMNS", None)
    cmd = [sys.executable, "-c", "from trustbench.cli import main; main()"]
    proc = subprocess.run([*cmd, "run", "-m", "echo,latency=0.03", "--tasks", "ethics/implicit_ethics,ethics/moralchoice_high",
                           "--limit", "4", "--out", str(tmp_path / "r")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode in (0, 3), proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    gen = [ln for ln in lines if ln.startswith("generating: ")]
    assert len(gen) >= 2 and gen[-1].startswith("generating: 8/8 (100%)"), proc.stdout
    assert any(ln.startswith("judging: 2/2 tasks") for ln in lines), proc.stdout
    # the summary table is as wide as its content, not wrapped at 80 columns: one line per task
    row = next(ln for ln in lines if "ethics/implicit_ethics" in ln)
    assert len([ln for ln in lines if "ethics/implicit_ethics" in ln]) == 1 and "│" in row
    proc = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env, timeout=300)
    row = next(ln for ln in proc.stdout.splitlines() if "ethics/implicit_ethics " in ln)
    assert "implicit_ETHICS.json" in row and "overall" in row, proc.stdout
