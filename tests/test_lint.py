"""Lint and types as part of the test suite: `ruff check src tests` and `mypy` (its files are the typed core, set in
pyproject.toml) must be clean, so the README's test command covers them. Skipped where a tool is not installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The tool beside this interpreter (the project's venv), else on PATH; skip when neither has it."""
    here = Path(sys.executable).with_name(name)
    found = str(here) if here.is_file() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install 'trustbench[dev]')")
    return found


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_clean() -> None:
    res = run(tool("ruff"), "check", "src", "tests")
    assert res.returncode == 0, f"ruff check src tests:\n{res.stdout}{res.stderr}"


@pytest.mark.slow
def test_mypy_clean() -> None:
    res = run(tool("mypy"))
    assert res.returncode == 0, f"mypy (files from pyproject.toml):\n{res.stdout}{res.stderr}"
