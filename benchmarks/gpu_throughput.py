"""Generated tokens/s on a GPU: trustbench's hf backend vs plain transformers vs the memory-bandwidth bound.

    python benchmarks/gpu_throughput.py MODEL [--prompts 256] [--max-tokens 128] [--data ../shared/data/trustllm]
                                              [--bandwidth 3.8e12] [--plain-batch 128] [--skip-compile]

MODEL is a hub name or a local folder. Prompts are real TrustLLM prompts (the first of each task, cycled) when
--data is found, else a fixed question. Rows:
  trustbench hf, defaults (batch=auto)       what `trustbench run --model hf:MODEL` does on CUDA
  trustbench hf, compile=true                static KV cache + torch.compile (compile time reported apart)
  transformers generate, batch B             a plain left-padded loop, the usual hand-written baseline
  bandwidth bound at batch B                 every decode step reads the weights once: B x bandwidth / weight bytes
A model with random weights runs every answer to max tokens, which is what a throughput figure wants; with
real weights early stops lower every row alike. Needs CUDA (exits with a message otherwise).
Not run in the development session of issue 15 (no GPU was available there).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def prompts_from(data: Path | None, n: int) -> list[str]:
    found: list[str] = []
    if data and data.is_dir():
        from trustbench.data import DataDir
        from trustbench.tasks import default_tasks

        for task in default_tasks():
            if task.source != "trustllm":
                continue
            try:
                found += [s.prompt for s in task.samples(task.load(DataDir(data)), 8)]
            except Exception:  # noqa: BLE001 - a missing file only thins the prompt mix
                continue
    found = found or ["Explain, step by step, why the sky is blue and what would change on Mars."]
    return [found[i % len(found)] for i in range(n)]


def run_trustbench(spec: str, prompts: list[str], max_tokens: int, passes: int = 1) -> list[tuple[float, int, float]]:
    """Per pass over the same backend: (seconds, generated tokens, seconds to the first response)."""
    from trustbench.core import GenerationSettings, Request
    from trustbench.models import load_backend

    backend = load_backend(spec)
    settings = GenerationSettings(temperature=0.0, max_tokens=max_tokens)
    reqs = [Request(f"k{i}", p, settings) for i, p in enumerate(prompts)]
    backend._load()
    import torch

    out = []
    for _ in range(passes):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        first, tokens = None, 0
        for _, resp in backend.generate(reqs):
            first = first or time.perf_counter() - t0
            tokens += resp.tokens
        torch.cuda.synchronize()
        out.append((time.perf_counter() - t0, tokens, first or 0.0))
    backend.close()
    return out


def run_plain(name: str, prompts: list[str], max_tokens: int, batch: int) -> tuple[float, int, float]:
    """A plain transformers loop: chat template, left padding, greedy generate, fixed batch."""
    import torch
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(name)
    tok.padding_side = "left"
    tok.pad_token = tok.pad_token or tok.eos_token
    model = transformers.AutoModelForCausalLM.from_pretrained(name, dtype="auto").to("cuda").eval()
    texts = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True)
             if tok.chat_template else p for p in prompts]
    torch.cuda.synchronize()
    t0, tokens = time.perf_counter(), 0
    for i in range(0, len(texts), batch):
        enc = tok(texts[i : i + batch], return_tensors="pt", padding=True, add_special_tokens=False).to("cuda")
        with torch.inference_mode():
            out = model.generate(**enc, max_new_tokens=max_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        new = out[:, enc["input_ids"].shape[1] :]
        tokens += int((new != tok.pad_token_id).sum())
    torch.cuda.synchronize()
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    del model
    torch.cuda.empty_cache()
    return time.perf_counter() - t0, tokens, weight_bytes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("--prompts", type=int, default=256)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "trustllm")
    ap.add_argument("--bandwidth", type=float, default=3.8e12, help="GPU memory bandwidth, bytes/s (H200: 4.8e12 peak, ~3.8e12 achieved)")
    ap.add_argument("--plain-batch", type=int, default=128)
    ap.add_argument("--skip-compile", action="store_true")
    args = ap.parse_args()
    import torch

    if not torch.cuda.is_available():
        sys.exit("gpu_throughput.py needs a CUDA GPU; none is visible")
    prompts = prompts_from(args.data, args.prompts)
    rows = []
    [(secs, toks, first)] = run_trustbench(f"hf:{args.model}", prompts, args.max_tokens)
    rows.append(("trustbench hf, defaults (batch=auto)", toks / secs, f"first batch after {first:.1f}s"))
    if not args.skip_compile:
        (secs, toks, first), (secs2, toks2, _) = run_trustbench(f"hf:{args.model},compile=true", prompts,
                                                                 args.max_tokens, passes=2)
        rows.append(("trustbench hf, compile=true (incl. compile)", toks / secs, f"first batch after {first:.1f}s"))
        rows.append(("trustbench hf, compile=true (compiled, 2nd pass)", toks2 / secs2, ""))
    secs, toks, weight_bytes = run_plain(args.model, prompts, args.max_tokens, args.plain_batch)
    rows.append((f"transformers generate, batch {args.plain_batch}", toks / secs, ""))
    bound = args.plain_batch * args.bandwidth / weight_bytes
    rows.append((f"bandwidth bound at batch {args.plain_batch}", bound, f"{weight_bytes / 2**30:.1f} GiB of weights"))
    print(f"\n{args.model}: {len(prompts)} prompts, {args.max_tokens} new tokens, {torch.cuda.get_device_name()}\n")
    print("| path | generated tok/s | note |\n|---|---:|---|")
    for name, rate, note in rows:
        print(f"| {name} | {rate:,.0f} | {note} |")


if __name__ == "__main__":
    main()
