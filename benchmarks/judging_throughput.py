"""Judging throughput (items/s) of each offline judge on a full-suite-sized input.

A full TrustLLM run asks the refusal judge about ~3,500 responses (jailbreak, misuse, exaggerated safety,
privacy awareness), the toxicity judge about the ~1,400 jailbreak responses and the embedding judge about
~2,000 texts (AdvInstruction, sycophancy). The texts here are the benchmark's own prompts standing in for
responses (read from the data directory, never stored). Each judge is timed twice: computing every verdict
(fresh store) and reading them all back from the store (a resumed run).

    python benchmarks/judging_throughput.py [--data DIR] [--hf PATH_OR_NAME] [--scale 1.0]

The shipped refusal classifier (`refusal=clf`) and the rules+classifier combination (`refusal=combo`, the default
refusal judge since round 5 of issue 14) are also timed on real-length responses (the labelled SmolLM2
responses in data/refusal/, cycled with a counter) and each one's time for every response of a full suite
(FULL_SUITE_ITEMS) is set against the run's generation time (GENERATION_S: ~10 h at ~75 tokens/s on this
machine); the issue's bar is under 10%.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

from trustbench.data import resolve_data_dir
from trustbench.judges import JudgeInput, make_judge
from trustbench.store import Store

SIZES = {"refusal": 3500, "toxicity": 1400, "embedding": 2000}
FULL_SUITE_ITEMS = 16_441
GENERATION_S = 10 * 3600
RESPONSES = Path(__file__).resolve().parents[1] / "data" / "refusal" / "train_smollm2.jsonl"


def responses(n: int) -> list[str]:
    """n distinct real-length responses: labelled SmolLM2 responses cycled with a counter."""
    pool = [json.loads(x)["response"] for x in RESPONSES.read_text(encoding="utf-8").splitlines() if x.strip()]
    return [f"{t} ({i})" for i, t in zip(range(n), itertools.cycle(pool))]


def texts(root: Path, n: int) -> list[str]:
    """n distinct texts: the data's prompts, cycled with a counter so each one is a new cache entry."""
    pool = [r["prompt"] for f in sorted(root.glob("*/*.json")) for r in json.loads(f.read_text(encoding="utf-8"))
            if isinstance(r, dict) and isinstance(r.get("prompt"), str)]
    return [f"{t} ({i})" for i, t in zip(range(n), itertools.cycle(pool))]


def timed(kind: str, spec: str, items: list[str], store: Store) -> tuple[float, float, float]:
    judge = make_judge(kind, spec, store)
    inputs = [JudgeInput(response=t, prompt="p") for t in items]
    t0 = time.perf_counter()
    judge.judge(inputs[:8])  # load the model outside the timing
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    judge.judge(inputs[8:])
    fresh = (len(inputs) - 8) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    judge.judge(inputs)
    cached = len(inputs) / (time.perf_counter() - t0)
    return load, fresh, cached


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--hf", default=None, help="also time hf:PATH_OR_NAME (e.g. LibrAI/longformer-harmful-ro)")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full-suite sizes")
    args = ap.parse_args()
    root = resolve_data_dir(args.data)
    runs = [("refusal", "rules"), ("toxicity", "profanity-check"), ("embedding", "minilm")]
    if args.hf:
        runs.append(("refusal", f"hf:{args.hf}"))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.sqlite")
        print(f"{'judge':<34}{'items':>7}{'load s':>9}{'items/s':>10}{'cached items/s':>16}")
        for kind, spec in runs:
            n = max(16, int(SIZES[kind] * args.scale))
            load, fresh, cached = timed(kind, spec, texts(root, n), store)
            print(f"{kind + '=' + spec:<34}{n:>7}{load:>9.1f}{fresh:>10.1f}{cached:>16.0f}")
        n = max(16, int(SIZES["refusal"] * args.scale))
        for spec in ("clf", "combo"):
            load, fresh, cached = timed("refusal", spec, responses(n), store)
            print(f"{'refusal=' + spec + ' (SmolLM2 responses)':<34}{n:>7}{load:>9.1f}{fresh:>10.1f}{cached:>16.0f}")
            full = load + FULL_SUITE_ITEMS / fresh
            print(f"refusal={spec} on a full suite ({FULL_SUITE_ITEMS:,} responses): {full:.0f} s = "
                  f"{100 * full / GENERATION_S:.2f}% of the run's ~{GENERATION_S / 3600:.0f} h generation (bar: < 10%)")


if __name__ == "__main__":
    main()
