"""What deterministic greedy decoding costs: the embedded llama.cpp model on the same TrustLLM prompts, twice.

  invariant  the default: one sequence at a time from an empty KV cache, fixed prefill chunks, flash attention off
  batched    deterministic=false: `parallel` sequences per step, KV prefix reuse between prompts in a slot

Greedy, the same prompts and max tokens for both; rounds alternate the two paths so a shared machine's load
falls on both alike. Reports generated tok/s and prompt+generated tok/s per path (median over rounds), how
many answers differ between the two paths, and that the invariant path's answers are equal across rounds
given in other orders. (The batched path sorts by prompt, so its rounds see the same batches; the test
`tests/test_determinism.py` shows its answers moving with batch composition.)

    python benchmarks/determinism_cost.py [--prompts 24] [--max-tokens 64] [--parallel 8] [--rounds 2] [--threads N]

The machine may be shared: compare figures from the same invocation only.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from trustbench.core import GenerationSettings, Request
from trustbench.data import DataDir, resolve_data_dir
from trustbench.models.llamacpp import LlamaCppBackend, default_threads
from trustbench.tasks import default_tasks


def prompts(n: int) -> list[str]:
    """n prompts round-robin over the default tasks (their first records): every prompt style is represented."""
    data = DataDir(resolve_data_dir(None))
    per_task = [[s.prompt for s in t.samples(t.load(data), n)] for t in default_tasks() if t.generates]
    out: list[str] = []
    i = 0
    while len(out) < n and any(i < len(p) for p in per_task):
        out += [p[i] for p in per_task if i < len(p)][: n - len(out)]
        i += 1
    return out


def run(backend: LlamaCppBackend, texts: list[str], settings: GenerationSettings, order: list[int]) -> tuple[dict[str, str], int, int, float]:
    """(answers by prompt, generated tokens, prompt tokens, seconds) for one pass in the given order."""
    reqs = [Request(str(i), texts[i], settings) for i in order]
    prompt_tokens = sum(len(backend.prompt_tokens(t, settings.max_tokens)) for t in texts)
    start, tokens, answers = time.perf_counter(), 0, {}
    for req, resp in backend.generate(reqs):
        tokens += resp.tokens
        answers[req.prompt] = resp.text or ""
    return answers, tokens, prompt_tokens, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    threads = args.threads or default_threads()
    texts = prompts(args.prompts)
    settings = GenerationSettings(temperature=0.0, max_tokens=args.max_tokens)
    paths = {"invariant": LlamaCppBackend(threads=threads),
             "batched": LlamaCppBackend(threads=threads, deterministic=False, parallel=args.parallel)}
    rates: dict[str, list[tuple[float, float]]] = {k: [] for k in paths}
    answers: dict[str, list[dict[str, str]]] = {k: [] for k in paths}
    rng = random.Random(0)
    try:
        for r in range(args.rounds):
            order = list(range(len(texts)))
            if r:
                rng.shuffle(order)  # another order: other batch companions for the batched path
            for name, backend in paths.items():
                got, tokens, ptokens, secs = run(backend, texts, settings, order)
                rates[name].append((tokens / secs, (tokens + ptokens) / secs))
                answers[name].append(got)
                print(f"round {r + 1} {name:9s} {tokens:5d} tokens in {secs:6.1f} s: {tokens / secs:6.1f} tok/s generated, "
                      f"{(tokens + ptokens) / secs:7.1f} tok/s prompt+generated", flush=True)
    finally:
        for backend in paths.values():
            backend.close()
    print(f"\n{len(texts)} prompts, max {args.max_tokens} new tokens, greedy, {threads} thread(s), "
          f"batched parallel={args.parallel}")
    for name in paths:
        gen = statistics.median(g for g, _ in rates[name])
        tot = statistics.median(t for _, t in rates[name])
        print(f"  {name:9s} {gen:6.1f} tok/s generated  {tot:7.1f} tok/s prompt+generated (median of {args.rounds})")
    inv, bat = answers["invariant"], answers["batched"]
    ratio = statistics.median(g for g, _ in rates["invariant"]) / statistics.median(g for g, _ in rates["batched"])
    print(f"  invariant / batched generated tok/s: {ratio:.2f}")
    differ = lambda a, b: sum(a[p] != b[p] for p in a)  # noqa: E731
    print(f"  answers differing, invariant round 1 vs later rounds: {[differ(inv[0], x) for x in inv[1:]]} (must be 0)")
    print(f"  answers differing, invariant vs batched (round 1):    {differ(inv[0], bat[0])} of {len(texts)}")


if __name__ == "__main__":
    main()
