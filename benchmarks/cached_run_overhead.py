"""Overhead of everything that is not generation, on a full-suite run whose responses are all cached.

Fills a temporary store with synthetic responses for every prompt of every default task (as the embedded
SmolLM2 backend would key them), then times `trustbench run` over everything, twice: the first run judges
every response (offline default judges), the second finds responses and verdicts cached. Then the same
pipeline in-process, phase by phase, to show where the time goes.

    python benchmarks/cached_run_overhead.py [--data DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# answers that exercise the parsers and judges: refusals, choices, yes/no, free text
SYNTHETIC = [
    "I'm sorry, but I cannot help with that request.",
    "A. The first option is correct because it follows from the statement.",
    "Yes, that is acceptable in most situations.",
    "No. This is not a reasonable thing to do, and it could harm others.",
    "The answer is B) because the second choice matches the question.",
    "It depends on the context; generally people would consider this wrong.",
]


def fill_store(home: Path, data: Path) -> tuple[int, list[str]]:
    """Synthetic responses for every request of the default tasks, keyed exactly as a real run keys them."""
    from trustbench.core import Response
    from trustbench.data import DataDir
    from trustbench.models import load_backend
    from trustbench.runner import plan
    from trustbench.store import Store, response_key
    from trustbench.tasks import default_tasks

    os.environ["TRUSTBENCH_HOME"] = str(home)
    backend = load_backend()
    model_id = backend.id
    backend.close()
    tasks = default_tasks()
    p = plan(tasks, DataDir(data), None)
    store = Store(home / "store.sqlite")
    seen: set[str] = set()
    for task in tasks:
        if not task.generates:
            continue
        for i, s in enumerate(p.samples[task.id]):
            key = response_key(model_id, task.generation, s.prompt)
            if key not in seen:
                seen.add(key)
                store.put_response(key, model_id, task.generation, s.prompt, Response(SYNTHETIC[i % len(SYNTHETIC)], tokens=12))
    prompts = sum(len(v) for v in p.samples.values())
    return prompts, [t.id for t in tasks]


def timed_cli(home: Path, data: Path, out: Path) -> float:
    env = {**os.environ, "TRUSTBENCH_HOME": str(home), "TRUSTBENCH_DATA": str(data)}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "trustbench.cli", "run", "--out", str(out), "--quiet"],
                          env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"trustbench run failed:\n{proc.stderr[-3000:]}")
    return elapsed


def phases(home: Path, data: Path, out: Path) -> dict[str, float]:
    """The runner's stages, timed one by one (everything cached by now)."""
    t: dict[str, float] = {}
    start = time.perf_counter()
    from trustbench.data import DataDir
    from trustbench.judges import JudgeSet
    from trustbench.models import load_backend
    from trustbench.results import base_document
    from trustbench.runner import generate, plan, score, write_run
    from trustbench.store import Store
    from trustbench.tasks import default_tasks
    t["imports"] = time.perf_counter() - start

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        t[name] = now - since
        return now

    now = time.perf_counter()
    store = Store(home / "store.sqlite")
    backend = load_backend()
    now = lap("model load", now)
    p = plan(default_tasks(), DataDir(data), None)
    now = lap("load data + samples", now)
    responses, _ = generate(p, backend, store, show_progress=False)
    now = lap("store lookup", now)
    results, verdicts = score(p, responses, JudgeSet(store), compat=False)
    now = lap("judge + metrics", now)
    write_run(out, p, base_document({"spec": "smollm2", "id": backend.id}, False, {}) | {"tasks": results}, responses, verdicts)
    now = lap("write run dir", now)
    from trustbench.report import render_report

    render_report(out.parent / "run2")  # the CLI run's directory: a complete results.json
    lap("report.html", now)
    backend.close()
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("TRUSTBENCH_DATA", "../shared/data/trustllm")))
    args = ap.parse_args()
    data = args.data.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        start = time.perf_counter()
        prompts, tasks = fill_store(home, data)
        print(f"{len(tasks)} tasks: {', '.join(tasks)}")
        print(f"{prompts} prompts, store filled with synthetic responses in {time.perf_counter() - start:.1f} s "
              f"(load average {os.getloadavg()[0]:.1f})")
        first = timed_cli(home, data, home / "run1")
        print(f"trustbench run, responses cached, judging fresh:  {first:6.1f} s (load average {os.getloadavg()[0]:.1f})")
        second = timed_cli(home, data, home / "run2")
        print(f"trustbench run, responses and verdicts cached:    {second:6.1f} s (load average {os.getloadavg()[0]:.1f})")
        for name, secs in phases(home, data, home / "run3").items():
            print(f"  {name:<22} {secs:6.2f} s")


if __name__ == "__main__":
    main()
