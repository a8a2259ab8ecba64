"""The command line answers user mistakes with one clear message and exit code 2, never a traceback."""

import subprocess
import sys

import pytest

CLI = [sys.executable, "-c", "from trustbench.cli import main; main()"]


@pytest.mark.parametrize("args, message", [
    (["score", "--responses", "x", "-q"], "No such option: -q"),
    (["bogus"], "No such command 'bogus'"),
    (["run", "--limit", "0"], "--limit"),
    (["run", "--tasks", "ethics/nope", "--limit", "1"], "ethics/nope"),
    (["score", "--responses", "/nonexistent/dir"], "not a directory: /nonexistent/dir"),
])
def test_usage_errors_are_one_message(args, message, tmp_path):
    proc = subprocess.run(CLI + args, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "TRUSTBENCH_HOME": str(tmp_path), "COLUMNS": "200"})
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert message in text
    assert "Traceback" not in text
