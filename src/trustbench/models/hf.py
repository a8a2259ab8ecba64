"""Any transformers causal LM, prompts generated in left-padded batches.

Requests are grouped by (temperature, max_tokens), sorted by length so a batch wastes little padding,
and each finished batch is yielded at once. Decoding uses only trustbench's settings (the checkpoint's
own sampling defaults such as top_p or repetition_penalty are not applied) so every backend decodes
alike. At temperature > 0 each row draws with its own generator seeded from its request, so a sampled
answer does not depend on which other prompts shared its batch. A batch that runs out of GPU memory is
split in halves down to single prompts.

On CUDA the default `batch=auto` sizes each batch to the free GPU memory: the KV cache of every sequence
(2 x layers x KV heads x head dim x bytes per element, per token of prompt + answer) plus one layer's prefill
activations and the last-token logits, 85% of what is free after the weights, at most 256 (past 128 a larger
batch buys little, see docs/scaling.md). Elsewhere `auto` means 8. `compile=true` (CUDA only) decodes with
a static KV cache, which transformers compiles with torch.compile; prompts are then left-padded to a power of
two (and each settings group keeps one batch size) so a run compiles a handful of shapes, not one per batch.
Greedy outputs equal the plain path's (tested on CPU with the static cache; compilation itself needs CUDA).
"""

from __future__ import annotations

import hashlib
from itertools import groupby
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend, file_digest, fit_prompt

DTYPES = ("auto", "float32", "float16", "bfloat16")
AUTO_MAX_BATCH = 256  # the batch=auto ceiling on CUDA
DEFAULT_BATCH = 8  # batch=auto off CUDA
MEMORY_SHARE = 0.85  # of the free GPU memory, for the batch's KV cache and activations


def _text_config(config: Any) -> Any:
    getter = getattr(config, "get_text_config", None)
    return getter() if callable(getter) else config


def kv_bytes_per_token(config: Any, elem_bytes: int) -> int:
    """KV-cache bytes one token of one sequence holds: keys and values of every layer's KV heads."""
    c = _text_config(config)
    heads = c.num_attention_heads
    kv_heads = getattr(c, "num_key_value_heads", None) or heads
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // heads
    return 2 * c.num_hidden_layers * kv_heads * head_dim * elem_bytes


def auto_batch(free_bytes: int, config: Any, elem_bytes: int, seq_len: int, cap: int = AUTO_MAX_BATCH) -> int:
    """Sequences of `seq_len` tokens (prompt + answer) that fit in MEMORY_SHARE of `free_bytes`, 1..cap."""
    c = _text_config(config)
    hidden = c.hidden_size
    inter = getattr(c, "intermediate_size", None) or 4 * hidden
    per_seq = kv_bytes_per_token(config, elem_bytes) * seq_len  # the cache, full length
    per_seq += seq_len * (2 * inter + 4 * hidden) * elem_bytes  # one layer's prefill activations
    per_seq += c.vocab_size * 4 * 2  # last-token logits in float32 and their processed copy
    return max(1, min(cap, int(free_bytes * MEMORY_SHARE) // per_seq))


def _parse_batch(name: str, batch: Any) -> int | None:
    """None for 'auto', else a positive int."""
    if isinstance(batch, str) and batch.strip().lower() == "auto":
        return None
    try:
        n = int(batch)
    except (TypeError, ValueError):
        raise TrustbenchError(f"hf:{name}: batch should be 'auto' or a number, got {batch!r}") from None
    if n < 1:
        raise TrustbenchError(f"hf:{name}: batch must be >= 1")
    return n


def _dir_digest(folder: Path) -> str:
    """Identity of a local checkpoint folder: every file's name and content digest."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        h.update(f"{f.name}:{file_digest(f)};".encode())
    return h.hexdigest()[:12]


class HFBackend(ModelBackend):
    """A transformers AutoModelForCausalLM with its tokenizer's chat template."""

    def __init__(
        self,
        name: str,
        *,
        dtype: str = "auto",
        device: str = "auto",
        batch: int | str = "auto",
        revision: str | None = None,
        trust_remote_code: bool = False,
        compile: bool = False,
    ):
        try:
            import torch
            import transformers
        except ImportError:
            raise TrustbenchError("hf:NAME needs torch and transformers: pip install 'trustbench[hf]'") from None
        if dtype not in DTYPES:
            raise TrustbenchError(f"hf:{name}: dtype '{dtype}' unknown; use one of {', '.join(DTYPES)}")
        fixed = _parse_batch(name, batch)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
        if compile and not device.startswith("cuda"):
            raise TrustbenchError(f"hf:{name}: compile=true needs a CUDA device (this one is {device})")
        self._torch, self.device = torch, device
        self.auto = fixed is None
        self.batch = fixed or DEFAULT_BATCH  # batch=auto on CUDA is sized per settings group, see _group_batch
        self.static = compile  # static KV cache; transformers compiles the decode step on CUDA
        self._config = None
        transformers.utils.logging.disable_progress_bar()  # trustbench shows its own progress
        self.name, self.dtype = name, dtype
        self._kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            config = transformers.AutoConfig.from_pretrained(name, **self._kwargs)
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(name, **self._kwargs)
        except (OSError, ValueError) as exc:
            raise TrustbenchError(f"hf:{name}: could not load the model: {exc}") from None
        self._config = config
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.max_len = int(getattr(config, "max_position_embeddings", 0) or min(self.tokenizer.model_max_length, 1 << 20))
        self.model: Any = None  # weights load on first use: a fully cached run never loads them
        local = Path(name).expanduser()
        ident = f"#{_dir_digest(local)}" if local.is_dir() else f"@{getattr(config, '_commit_hash', None) or revision or 'main'}"
        self.id = f"hf:{name}{ident}" + ("" if dtype == "auto" else f",dtype={dtype}")

    def _load(self) -> None:
        if self.model is not None:
            return
        import transformers

        torch = self._torch
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self.name, dtype=self.dtype if self.dtype == "auto" else getattr(torch, self.dtype), **self._kwargs)
            # transformers' stubs type the wrapped `to` as taking the model; a device string is what it takes
            self.model = model.to(self.device).eval()  # type: ignore[arg-type]
        except (OSError, ValueError, RuntimeError) as exc:
            raise TrustbenchError(f"hf:{self.name}: could not load the model: {exc}") from None
        eos = model.generation_config.eos_token_id
        eos = self.tokenizer.eos_token_id if eos is None else eos
        self.eos: set[int] = set(eos if isinstance(eos, list) else [eos]) - {None}

    # -- prompt --------------------------------------------------------------------------------
    def _render(self, content: str) -> list[int]:
        tok = self.tokenizer
        if not tok.chat_template:  # a base model: the prompt as written, with the tokenizer's own BOS
            return tok(content).input_ids
        text = tok.apply_chat_template([{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True)
        return tok(text, add_special_tokens=False).input_ids

    def render(self, prompt: str, max_tokens: int = 512) -> str:
        """The prompt as the model receives it: templated and fitted to the context, decoded back to text."""
        return str(self.tokenizer.decode(self.prompt_tokens(prompt, max_tokens), skip_special_tokens=False))

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "chat_template": "tokenizer" if self.tokenizer.chat_template else None,
                "device": str(self.device), "dtype": str(self.dtype)}

    def prompt_tokens(self, prompt: str, max_tokens: int) -> list[int]:
        """Templated prompt tokens that leave room for the answer (at least half the context)."""
        budget = self.max_len - min(max_tokens, self.max_len // 2)
        tok = self.tokenizer
        _, ids = fit_prompt(prompt, budget, self._render, lambda t: tok(t, add_special_tokens=False).input_ids,
                           lambda ids: str(tok.decode(ids)))
        if len(ids) > budget:
            raise TrustbenchError(f"the chat template alone needs {len(ids)} tokens of the model's {self.max_len}")
        return ids

    # -- decoding ------------------------------------------------------------------------------
    def _draw(self, temperature: float, reqs: Sequence[Request]) -> Any:
        """Logits processor that samples every row with that request's own seeded generator."""
        torch = self._torch
        gens = []
        for r in reqs:
            g = torch.Generator(device=self.device)
            if r.settings.seed is None:
                g.seed()  # unseeded: a fresh random state
            else:
                g.manual_seed(r.settings.seed + r.settings.n)
            gens.append(g)

        def draw(input_ids: Any, scores: Any) -> Any:
            probs = torch.softmax(scores.float() / temperature, dim=-1)
            picks = torch.cat([torch.multinomial(p, 1, generator=g) for p, g in zip(probs, gens)])
            forced = torch.full_like(scores, float("-inf"))
            return forced.scatter_(1, picks[:, None], 0.0)  # greedy then takes exactly the drawn token

        return draw

    def _run(self, reqs: Sequence[Request], prompts: list[list[int]]) -> list[Response]:
        import transformers

        torch, s = self._torch, reqs[0].settings
        if self.static:  # a few padded lengths, so the compiled decode step is reused
            longest = max(len(p) for p in prompts)
            width = max(longest, min(1 << max(6, (longest - 1).bit_length()), self.max_len - s.max_tokens))
            enc = self.tokenizer.pad({"input_ids": prompts}, padding="max_length", max_length=width, return_tensors="pt")
        else:
            enc = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt")
        enc = enc.to(self.device)
        config = transformers.GenerationConfig(
            max_new_tokens=s.max_tokens, do_sample=False, eos_token_id=sorted(self.eos) or None,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if self.static:
            config.cache_implementation = "static"
            config.disable_compile = not self.device.startswith("cuda")
        procs = transformers.LogitsProcessorList([self._draw(s.temperature, reqs)] if s.temperature > 0 else [])
        with torch.inference_mode():
            out = self.model.generate(**enc, generation_config=config, logits_processor=procs)
        responses = []
        for row in out[:, enc["input_ids"].shape[1] :].tolist():
            n = next((i for i, t in enumerate(row) if t in self.eos), len(row))
            responses.append(Response(text=str(self.tokenizer.decode(row[:n], skip_special_tokens=True)), tokens=n))
        return responses

    def _batch(self, reqs: list[Request], prompts: list[list[int]]) -> Iterator[tuple[Request, Response]]:
        """Generate one batch, halving it on out-of-memory; a single prompt that does not fit fails alone."""
        try:
            responses = self._run(reqs, prompts)
        except self._torch.cuda.OutOfMemoryError:
            self._torch.cuda.empty_cache()
            if len(reqs) == 1:
                yield reqs[0], Response(text=None, error=f"out of GPU memory ({len(prompts[0])} prompt tokens)")
                return
            half = len(reqs) // 2
            yield from self._batch(reqs[:half], prompts[:half])
            yield from self._batch(reqs[half:], prompts[half:])
            return
        yield from zip(reqs, responses)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if requests:
            self._load()

        def settings(r: Request) -> tuple[float, int]:
            return r.settings.temperature, r.settings.max_tokens

        for _, group in groupby(sorted(requests, key=settings), key=settings):
            items = []
            for r in group:
                try:
                    items.append((r, self.prompt_tokens(r.prompt, r.settings.max_tokens)))
                except TrustbenchError as exc:
                    yield r, Response(text=None, error=str(exc))
            items.sort(key=lambda it: len(it[1]), reverse=True)
            size = self._group_batch(len(items[0][1]) + items[0][0].settings.max_tokens) if items else 1
            for i in range(0, len(items), size):
                chunk = items[i : i + size]
                yield from self._batch([r for r, _ in chunk], [p for _, p in chunk])

    def _group_batch(self, seq_len: int) -> int:
        """The batch for a settings group whose longest sequence is `seq_len` tokens (prompt + answer)."""
        if not (self.auto and self.device.startswith("cuda")):
            return self.batch
        torch = self._torch
        free, _ = torch.cuda.mem_get_info(torch.device(self.device))
        elem = self.model.dtype.itemsize if self.model is not None else 2
        return auto_batch(free, self._config, elem, seq_len)

    def close(self) -> None:
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
