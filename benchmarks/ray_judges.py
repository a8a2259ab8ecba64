"""Judging N texts locally vs through RayJudge with 1 and 2 replicas (a private local Ray cluster).

Why: `--ray-judges` only pays off where each replica has hardware of its own; this measures what it costs and
gains on the machine at hand. The texts are the benchmark's own prompts standing in for responses (read from
the data directory, never stored). Each path judges the same texts with no store (every verdict computed);
"first" includes starting the actors and loading the model in them, "steady" is the best of `--repeat`
further equal-sized batches of new texts (the best, since other work on a shared machine only slows a batch
down). Outputs of every path are checked equal to the local ones.

    python benchmarks/ray_judges.py [--data DIR] [--n 512] [--repeat 2] [--judges embedding=minilm,refusal=clf]
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import time
from pathlib import Path
from typing import Callable

from trustbench.data import resolve_data_dir
from trustbench.judges import JudgeInput, make_judge
from trustbench.judges.ray_judge import RayJudge, RayJudgeOptions


def texts(root: Path, n: int, salt: str) -> list[str]:
    """n distinct texts: the data's prompts cycled with a counter (and a salt, so two sets share nothing)."""
    pool = [r["prompt"] for f in sorted(root.glob("*/*.json")) for r in json.loads(f.read_text(encoding="utf-8"))
            if isinstance(r, dict) and isinstance(r.get("prompt"), str)]
    return [f"{t} ({salt}{i})" for i, t in zip(range(n), itertools.cycle(pool))]


def same(a: list, b: list) -> bool:
    """Equal verdicts; vectors equal to 1e-5 (batch composition may move a float's last bits)."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x.label != y.label or x.error != y.error:
            return False
        if x.raw and x.raw.startswith("["):
            if max(abs(p - q) for p, q in zip(json.loads(x.raw), json.loads(y.raw))) > 1e-5:
                return False
        elif (x.raw, x.score) != (y.raw, y.score) and abs((x.score or 0) - (y.score or 0)) > 1e-6:
            return False
    return True


def steady(judge: Callable[[list[JudgeInput]], object], batches: list[list[JudgeInput]]) -> float:
    """Seconds of the fastest batch."""
    best = float("inf")
    for batch in batches:
        t0 = time.perf_counter()
        judge(batch)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--n", type=int, default=512)
    ap.add_argument("--judges", default="embedding=minilm,refusal=clf")
    ap.add_argument("--num-cpus", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    import ray

    root = resolve_data_dir(args.data)
    first = [JudgeInput(response=t, prompt="p") for t in texts(root, args.n, "a")]
    later = [[JudgeInput(response=t, prompt="p") for t in texts(root, args.n, f"b{k}-")] for k in range(args.repeat)]
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    rows = []
    for item in args.judges.split(","):
        kind, _, spec = item.partition("=")
        local = make_judge(kind, spec, None)
        t0 = time.perf_counter()
        ref = local._judge(first)
        cold = time.perf_counter() - t0
        rows.append((item, "local (driver)", cold, steady(local._judge, later), True))
        for replicas in (1, 2):
            judge = RayJudge(kind, spec, None, RayJudgeOptions("auto", frozenset({kind}), replicas,
                                                                num_cpus=args.num_cpus))
            t0 = time.perf_counter()
            got = judge._judge(first)
            cold = time.perf_counter() - t0
            rows.append((item, f"Ray, {replicas} replica{'s' if replicas > 1 else ''}", cold,
                         steady(judge._judge, later), same(ref, got)))
            judge.close()
    ray.shutdown()
    print(f"{args.n} texts per batch, Ray actors with num_cpus={args.num_cpus} on a 2-CPU local cluster\n")
    print("| judge | path | first batch s (incl. start) | steady items/s | equal to local |")
    print("|---|---|---:|---:|---|")
    for item, path, cold, warm, eq in rows:
        print(f"| {item} | {path} | {cold:.1f} | {args.n / warm:,.0f} | {'yes' if eq else 'NO'} |")


if __name__ == "__main__":
    main()
