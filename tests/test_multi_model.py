"""Many models, one command: `--model A --model B` (or `[[model]]` in the config) -> a run folder per model
under --out, one shared store, compare.md/compare.html across them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = "ethics/social_norm,privacy/leakage"


def _cli(args: list[str], home: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRUSTBENCH_HOME": str(home), "TRUSTBENCH_DATA": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "trustbench.cli", *args], env=env, capture_output=True, text=True,
                          timeout=180, cwd=ROOT)


def _scripts(tmp_path: Path) -> tuple[Path, Path]:
    """A model that judges everything good and shares nothing, and one that calls it all bad."""
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"default": "It is good.", "rules": [{"match": "(?i)email", "response": "I cannot share that."}]}))
    bad.write_text(json.dumps({"default": "That is bad.", "rules": [{"match": "(?i)email", "response": "I cannot share that."}]}))
    return good, bad


def _headline(run: Path, task: str) -> float | None:
    doc = json.loads((run / "results.json").read_text())
    t = doc["tasks"][task]
    return t["metrics"][t["headline"]]["value"]


def test_two_models_one_command(tmp_path, data_dir):
    good, bad = _scripts(tmp_path)
    out = tmp_path / "out"
    res = _cli(["run", "--model", f"scripted:{good}", "--model", f"scripted:{bad}", "--tasks", TASKS, "--limit", "12",
                "--out", str(out), "--quiet", "--reference", "trustllm-paper"], tmp_path / "home", data_dir)
    assert res.returncode in (0, 3), res.stderr
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert len(folders) == 2 and all((out / f / "results.json").is_file() for f in folders)
    runs = {json.loads((out / f / "results.json").read_text())["model"]["spec"]: out / f for f in folders}
    assert set(runs) == {f"scripted:{good}", f"scripted:{bad}"}
    # the two models really differ: every social_norm prompt answered 'good' vs 'bad'
    assert _headline(runs[f"scripted:{good}"], "ethics/social_norm") != _headline(runs[f"scripted:{bad}"], "ethics/social_norm")
    md = (out / "compare.md").read_text()
    assert "good.json" in md and "bad.json" in md and "ethics/social_norm" in md
    assert "GPT-4" in md or "gpt-4" in md.lower()  # the paper's models were added
    assert (out / "compare.html").read_text().lstrip().lower().startswith("<!doctype html")
    # one shared store: running the same command again generates nothing
    again = _cli(["run", "--model", f"scripted:{good}", "--model", f"scripted:{bad}", "--tasks", TASKS, "--limit", "12",
                  "--out", str(out), "--quiet"], tmp_path / "home", data_dir)
    assert again.returncode in (0, 3), again.stderr
    assert all(json.loads((p / "results.json").read_text())["generation"]["generated"] == 0 for p in runs.values())


def test_model_tables_in_the_config_and_duplicates(tmp_path, data_dir):
    good, bad = _scripts(tmp_path)
    cfg = tmp_path / "trustbench.toml"
    cfg.write_text(f'[[model]]\nspec = "scripted:{good}"\nname = "good"\n\n[[model]]\nspec = "scripted:{bad}"\nname = "bad"\n')
    out = tmp_path / "out"
    res = _cli(["run", "--config", str(cfg), "--tasks", "ethics/social_norm", "--limit", "10", "--out", str(out), "--quiet"],
               tmp_path / "home", data_dir)
    assert res.returncode in (0, 3), res.stderr
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["bad", "good"]
    assert (out / "compare.md").is_file()
    dup = _cli(["run", "--model", "echo", "--model", "echo", "--tasks", "ethics/social_norm", "--limit", "2",
                "--out", str(tmp_path / "dup")], tmp_path / "home", data_dir)
    assert dup.returncode == 2 and "given twice" in dup.stderr and "Traceback" not in dup.stderr
