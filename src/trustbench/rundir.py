"""Run folders that never contradict themselves.

A run is written into a temporary sibling folder and renamed into place when complete, so a reader sees
the old folder or the new one, never a mix (and a killed run leaves the old folder as it was). A folder
holding a *different* run (other model, tasks, mode or limit) is refused unless `--overwrite`; the same
run again (a resume) replaces its own folder. Each run folder records what it is in `.trustbench-run.json`.
Modes: results.json 0600 (it names the model and data paths), every other file 0644, folders 0755.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TrustbenchError

MARKER = ".trustbench-run.json"
RESULTS_MODE, FILE_MODE, DIR_MODE = 0o600, 0o644, 0o755


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def existing_identity(folder: Path) -> dict[str, Any] | None:
    """What run a folder holds: its marker, else (folders written before markers) its results.json."""
    for name in (MARKER, "results.json"):
        path = folder / name
        if not path.is_file():
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {"unreadable": name}
        if name == MARKER:
            return doc
        return {"kind": "score" if str(doc.get("model", {}).get("spec", "")).startswith("responses:") else "run",
                "model": doc.get("model", {}).get("spec"), "tasks": sorted(doc.get("tasks", {})),
                "mode": doc.get("mode"), "limit": doc.get("limit")}
    return None


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [f"{k}: {old.get(k)!r} there, {new.get(k)!r} now" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


@dataclass
class RunDir:
    """A run folder being written: the run goes to `stage`, `commit` puts it at `target`."""

    target: Path
    stage: Path
    identity: dict[str, Any]

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """Commit a run that finished; remove the stage of one that failed or was interrupted."""
        if exc_type is None:
            self.commit()
        else:
            self.abandon()

    def commit(self) -> None:
        """Replace the target with the finished stage (two renames; the old folder is removed afterwards)."""
        fix_modes(self.stage)
        old = None
        try:
            if self.target.exists() or self.target.is_symlink():
                old = Path(tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".old"))
                os.replace(self.target, old / "run")
            os.replace(self.stage, self.target)
        except OSError as exc:
            if old is not None and not self.target.exists() and (old / "run").exists():
                os.replace(old / "run", self.target)  # put the previous run back
            raise TrustbenchError(f"Could not move the finished run from {self.stage} to {self.target} ({_why(exc)}); "
                                  f"the complete run is in {self.stage}") from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abandon(self) -> None:
        """Remove the stage after a failed run; the target is untouched."""
        shutil.rmtree(self.stage, ignore_errors=True)


def prepare(target: Path, identity: dict[str, Any], overwrite: bool = False) -> RunDir:
    """Check the output folder before any compute and open a writable stage beside it.

    Raises TrustbenchError when the target is a file, holds a different run or other files (without
    `overwrite`), or its parent cannot be created or written.
    """
    target = Path(target).expanduser()
    if target.is_symlink() and not target.exists():
        raise TrustbenchError(f"--out {target}: a broken symbolic link; remove it or choose another folder")
    if target.exists() and not target.is_dir():
        raise TrustbenchError(f"--out {target}: exists and is a file, not a folder; choose another --out")
    parent = target.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise TrustbenchError(f"--out {target}: cannot create the folder {parent}: a file is in the way") from None
    except OSError as exc:
        raise TrustbenchError(f"--out {target}: cannot create the folder {parent} ({_why(exc)})") from None
    if target.is_dir() and not overwrite:
        try:
            entries = list(target.iterdir())
        except OSError as exc:
            raise TrustbenchError(f"--out {target}: cannot read the folder ({_why(exc)})") from None
        old = existing_identity(target)
        if old is None and entries:
            raise TrustbenchError(f"--out {target}: the folder holds files that are not a trustbench run; choose another "
                                  "folder, or pass --overwrite to replace its contents")
        if old is not None and old != identity:
            what = "; ".join(_differences(old, identity))
            raise TrustbenchError(f"--out {target}: the folder holds a different run ({what}); choose another folder, or "
                                  "pass --overwrite to replace it")
    _remove_dead_stages(parent, target.name)
    try:
        stage = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".partial"))
    except OSError as exc:
        raise TrustbenchError(f"--out {target}: cannot write in {parent} ({_why(exc)}); choose a writable folder") from None
    try:
        probe = stage / ".write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
        (stage / MARKER).write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        raise TrustbenchError(f"--out {target}: cannot write in {parent} ({_why(exc)}); choose a writable folder") from None
    return RunDir(target, stage, identity)


def _remove_dead_stages(parent: Path, name: str) -> None:
    """Remove the stages of killed runs into `name` (their process is gone); a live run's stage is left alone."""
    for stage in parent.glob(f".{glob.escape(name)}.*.partial"):
        pid = stage.name[len(name) + 2:].split(".", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(stage, ignore_errors=True)
        except OSError:  # alive, owned by someone else
            pass


def fix_modes(folder: Path) -> None:
    """results.json 0600, other files 0644, folders 0755: one mode per kind whatever the writer's temp-file mode."""
    try:
        os.chmod(folder, DIR_MODE)
        for root, dirs, files in os.walk(folder):
            for d in dirs:
                os.chmod(Path(root) / d, DIR_MODE)
            for f in files:
                path = Path(root) / f
                if not path.is_symlink():
                    os.chmod(path, RESULTS_MODE if f == "results.json" and Path(root) == folder else FILE_MODE)
    except OSError as exc:
        raise TrustbenchError(f"{folder}: cannot set file modes ({_why(exc)})") from None


__all__ = ["MARKER", "RunDir", "existing_identity", "fix_modes", "prepare"]
