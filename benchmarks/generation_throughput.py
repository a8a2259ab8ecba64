"""Generated tokens per second with the embedded llama.cpp model, three ways, on the same TrustLLM prompts:

  raw        the engine alone: llama.cpp batched decoding of `parallel` sequences in lockstep, greedy (what
             llama.cpp's batched-bench measures); each sequence generates as many tokens as trustbench's
             response to that prompt had (so both do the same prefill and decode work), or exactly
             --max-tokens with --raw-fixed
  trustbench LlamaCppBackend (continuous batching, chat template, per-request samplers, EOG stops) with every
             response written to a SQLite store as the runner does
  one        one prompt at a time through llama-cpp-python's create_chat_completion, like the original toolkit

Greedy decoding everywhere so `one` and `trustbench` produce the same tokens. With --estimate the trustbench
backend also runs a stratified sample with each task's own settings (temperature, 512 new tokens) and
extrapolates the wall time of generating all prompts of the full suite.

    python benchmarks/generation_throughput.py [--prompts 24] [--max-tokens 128] [--parallel 8] [--rounds 2] [--estimate 40] [--raw-fixed]

The machine may be shared: compare figures from the same invocation only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from trustbench.core import GenerationSettings, Request
from trustbench.data import DataDir, resolve_data_dir
from trustbench.models.llamacpp import LlamaCppBackend, default_threads, smollm2_path
from trustbench.store import Store, response_key
from trustbench.tasks import Task, default_tasks


def stratified(tasks: list[Task], data: DataDir, n: int) -> list[tuple[Task, str]]:
    """n prompts taken round-robin over the tasks (first records of each), so every prompt style is represented."""
    per_task = {t.id: t.samples(t.load(data), n) for t in tasks}
    out: list[tuple[Task, str]] = []
    i = 0
    while len(out) < n and any(i < len(v) for v in per_task.values()):
        for t in tasks:
            if i < len(per_task[t.id]) and len(out) < n:
                out.append((t, per_task[t.id][i].prompt))
        i += 1
    return out


def run_trustbench(backend: LlamaCppBackend, reqs: list[Request], store: Store) -> tuple[int, float]:
    """The runner's generation loop: every response stored the moment it arrives."""
    start, tokens = time.perf_counter(), 0
    for req, resp in backend.generate(reqs):
        store.put_response(req.key, backend.id, req.settings, req.prompt, resp)
        tokens += resp.tokens
    return tokens, time.perf_counter() - start


def run_raw(backend: LlamaCppBackend, prompts: list[list[int]], lengths: list[int]) -> tuple[int, float]:
    """Bare llama.cpp batched decoding: groups of `parallel` prompts prefilled, then decoded in lockstep, each
    sequence leaving the batch after its `lengths[i]` tokens."""
    import llama_cpp as ll

    b, ctx, par = backend._batch, backend._ctx, backend.n_parallel
    greedy = ll.llama_sampler_init_greedy()
    start, tokens = time.perf_counter(), 0
    for g in range(0, len(prompts), par):
        group, want = prompts[g : g + par], lengths[g : g + par]
        ll.llama_memory_clear(ll.llama_get_memory(ctx), True)
        nxt: list[int] = []
        for seq, toks in enumerate(group):  # prefill each prompt, chunked to the batch size
            for c in range(0, len(toks), backend.n_batch):
                chunk = toks[c : c + backend.n_batch]
                for j, t in enumerate(chunk):
                    b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = t, c + j, 1, c + j == len(toks) - 1
                    b.seq_id[j][0] = seq
                b.n_tokens = len(chunk)
                ll.llama_decode(ctx, b)
            nxt.append(ll.llama_sampler_sample(greedy, ctx, len(chunk) - 1))
        for step in range(max(want) - 1):
            live = [seq for seq in range(len(group)) if step + 1 < want[seq]]
            for j, seq in enumerate(live):
                b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = nxt[seq], len(group[seq]) + step, 1, True
                b.seq_id[j][0] = seq
            b.n_tokens = len(live)
            ll.llama_decode(ctx, b)
            for j, seq in enumerate(live):
                nxt[seq] = ll.llama_sampler_sample(greedy, ctx, j)
        tokens += sum(want)
    ll.llama_sampler_free(greedy)
    ll.llama_memory_clear(ll.llama_get_memory(ctx), True)
    return tokens, time.perf_counter() - start


def run_one(prompts: list[str], max_tokens: int, threads: int) -> tuple[int, float]:
    """One prompt at a time, like the original toolkit's generation loop."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=str(smollm2_path()), n_ctx=4096, n_threads=threads, verbose=False)
    start, tokens = time.perf_counter(), 0
    for p in prompts:
        out = llm.create_chat_completion(messages=[{"role": "user", "content": p}], temperature=0.0, max_tokens=max_tokens)
        tokens += out["usage"]["completion_tokens"]
    elapsed = time.perf_counter() - start
    llm.close()
    return tokens, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=24)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--parallel", type=int, default=8)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--modes", default="trustbench,raw,one")
    ap.add_argument("--raw-fixed", action="store_true", help="raw generates exactly --max-tokens per prompt")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--estimate", type=int, default=0, help="also estimate full-suite time from this many prompts")
    args = ap.parse_args()

    data = DataDir(resolve_data_dir(None))
    tasks = [t for t in default_tasks() if t.generates]
    sample = stratified(tasks, data, args.prompts)
    texts = [p for _, p in sample]
    settings = GenerationSettings(temperature=0.0, max_tokens=args.max_tokens)
    print(f"{len(texts)} TrustLLM prompts from {len({t.id for t, _ in sample})} tasks, greedy, max {args.max_tokens} new "
          f"tokens, {args.threads} threads, load average {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    backend = LlamaCppBackend(parallel=args.parallel, threads=args.threads)
    print(f"model load: {time.perf_counter() - t0:.2f} s ({backend.id}, parallel={args.parallel})")
    prompt_tokens = sum(len(backend.prompt_tokens(p, args.max_tokens)) for p in texts)
    print(f"prompt tokens (chat template included): {prompt_tokens}, {prompt_tokens / len(texts):.0f} per prompt; "
          "on a CPU prefill costs about as much per token as batched decoding, so it bounds every speed-up")
    modes = args.modes.split(",")
    totals = {m: [0, 0.0] for m in modes}
    rates: dict[str, list[float]] = {m: [] for m in modes}
    lengths = [args.max_tokens] * len(texts)  # per-prompt tokens for raw: trustbench's, once it has run
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store.sqlite")
        for r in range(args.rounds):  # modes alternate round by round, so a change in machine load hits all alike
            for mode in modes:
                if mode == "raw":
                    toks, secs = run_raw(backend, [backend.prompt_tokens(p, args.max_tokens) for p in texts], lengths)
                elif mode == "trustbench":
                    reqs = [Request(response_key(backend.id, settings, p), p, settings) for p in texts]
                    toks, secs = run_trustbench(backend, reqs, store)
                    if not args.raw_fixed:
                        got = store.get_responses(r.key for r in reqs)
                        lengths = [max(1, got[r.key].tokens) for r in reqs]
                elif mode == "one":
                    toks, secs = run_one(texts, args.max_tokens, args.threads)
                else:
                    raise SystemExit(f"unknown mode {mode}")
                totals[mode][0] += toks
                totals[mode][1] += secs
                rates[mode].append(toks / secs)
                print(f"round {r + 1} {mode:>10}: {toks:6d} tokens in {secs:7.1f} s = {toks / secs:6.1f} tok/s "
                      f"(load average {os.getloadavg()[0]:.1f})", flush=True)
        results = {m: statistics.median(v) for m, v in rates.items()}
        for m, v in results.items():
            print(f"{m:>10}: median {v:6.1f} tok/s, best {max(rates[m]):6.1f}, overall {totals[m][0] / totals[m][1]:6.1f} "
                  f"over {args.rounds} rounds")
        if "trustbench" in results:
            for ref in ("raw", "one"):
                if ref in results:
                    print(f"trustbench / {ref}: {results['trustbench'] / results[ref]:.2f}x by median, "
                          f"{max(rates['trustbench']) / max(rates[ref]):.2f}x by best round")
        if args.estimate:
            est = stratified(tasks, data, args.estimate)
            reqs = [Request(response_key(backend.id, t.generation, p), p, t.generation) for t, p in est]
            toks, secs = run_trustbench(backend, reqs, store)
            total = len({(t.generation, s.prompt) for t in tasks for s in t.samples(t.load(data))})  # as the runner dedupes
            per_prompt = toks / len(reqs)
            hours = total * per_prompt / (toks / secs) / 3600
            print(f"estimate: {len(reqs)} prompts with task settings: {per_prompt:.0f} tokens/prompt, {toks / secs:.1f} tok/s "
                  f"-> {total} prompts ~ {total * per_prompt / 1e6:.2f} M tokens ~ {hours:.1f} h on this machine")
    backend.close()


if __name__ == "__main__":
    main()
