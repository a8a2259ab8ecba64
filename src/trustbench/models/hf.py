"""Any transformers causal LM, prompts generated in left-padded batches.

Requests are grouped by (temperature, max_tokens), sorted by length so a batch wastes little padding,
and each finished batch is yielded at once. Decoding uses only trustbench's settings (the checkpoint's
own sampling defaults such as top_p or repetition_penalty are not applied) so every backend decodes
alike. At temperature > 0 each row draws with its own generator seeded from its request, so a sampled
answer does not depend on which other prompts shared its batch. A batch that runs out of GPU memory is
split in halves down to single prompts.
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
        batch: int = 8,
        revision: str | None = None,
        trust_remote_code: bool = False,
    ):
        try:
            import torch
            import transformers
        except ImportError:
            raise TrustbenchError("hf:NAME needs torch and transformers: pip install 'trustbench[hf]'") from None
        if dtype not in DTYPES:
            raise TrustbenchError(f"hf:{name}: dtype '{dtype}' unknown; use one of {', '.join(DTYPES)}")
        if batch < 1:
            raise TrustbenchError(f"hf:{name}: batch must be >= 1")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
        self._torch, self.batch, self.device = torch, batch, device
        transformers.utils.logging.disable_progress_bar()  # trustbench shows its own progress
        self.name, self.dtype = name, dtype
        self._kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        try:
            config = transformers.AutoConfig.from_pretrained(name, **self._kwargs)
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(name, **self._kwargs)
        except (OSError, ValueError) as exc:
            raise TrustbenchError(f"hf:{name}: could not load the model: {exc}") from None
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
        enc = self.tokenizer.pad({"input_ids": prompts}, padding=True, return_tensors="pt").to(self.device)
        config = transformers.GenerationConfig(
            max_new_tokens=s.max_tokens, do_sample=False, eos_token_id=sorted(self.eos) or None,
            pad_token_id=self.tokenizer.pad_token_id,
        )
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
            for i in range(0, len(items), self.batch):
                chunk = items[i : i + self.batch]
                yield from self._batch([r for r, _ in chunk], [p for _, p in chunk])

    def close(self) -> None:
        self.model = None
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
