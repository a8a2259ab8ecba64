"""vLLM's offline engine: continuous batching and paged attention on GPUs, tensor parallel across them.

Requests go to `LLM.chat` in chunks (vLLM schedules each chunk as one continuous batch) so responses
reach the store chunk by chunk instead of only at the very end. Prompts are cut to fit
`max_model_len` the same way as the other backends, since vLLM rejects an over-long prompt.

EXPERIMENTAL: written against vLLM's documented `LLM`/`LLM.chat`/`SamplingParams` API, never run on a GPU.
Verified: the spec parses, the id is built, a missing vLLM is one clear error. Not verified: engine start,
chat templating through `LLM.chat`, seeds, tensor parallelism, throughput. The tested GPU route is
`vllm serve MODEL` plus `--model openai:MODEL@http://127.0.0.1:8000/v1` (see README).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend, fit_prompt

CHUNK = 512  # prompts per LLM.chat call: large enough to keep the GPU full, small enough to save often


class VLLMBackend(ModelBackend):
    """A model served in-process by vLLM (needs Linux, a CUDA GPU and `pip install 'trustbench[vllm]'`)."""

    def __init__(
        self,
        name: str,
        *,
        tp: int = 1,
        dtype: str = "auto",
        max_model_len: int | None = None,
        gpu_memory_utilization: float = 0.9,
        trust_remote_code: bool = False,
    ):
        try:
            import vllm
        except ImportError:
            raise TrustbenchError(
                f"vllm:{name} needs vLLM, which is not installed: pip install 'trustbench[vllm]' "
                "(Linux with a CUDA GPU); or serve the model with `vllm serve` and use openai:MODEL@URL"
            ) from None
        self._vllm, self.name = vllm, name
        self._args = dict(model=name, tensor_parallel_size=tp, dtype=dtype, max_model_len=max_model_len,
                          gpu_memory_utilization=gpu_memory_utilization, trust_remote_code=trust_remote_code)
        self.llm: Any = None  # the engine starts on first use: a fully cached run never starts it
        self.id = f"vllm:{name}" + ("" if dtype == "auto" else f",dtype={dtype}") + (
            f",max_model_len={max_model_len}" if max_model_len else "")

    def _load(self) -> None:
        if self.llm is not None:
            return
        try:
            self.llm = self._vllm.LLM(**self._args)
        except (OSError, ValueError, RuntimeError) as exc:
            raise TrustbenchError(f"vllm:{self.name}: could not start the engine: {exc}") from None
        self.tokenizer = self.llm.get_tokenizer()
        self.max_len = int(self.llm.llm_engine.model_config.max_model_len)

    def _render(self, content: str) -> list[int]:
        text = self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                  add_generation_prompt=True)
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def _content(self, prompt: str, max_tokens: int) -> str:
        """The user text, its middle cut out when the templated prompt would leave no room to answer."""
        tok = self.tokenizer
        budget = self.max_len - min(max_tokens, self.max_len // 2)
        content, _ = fit_prompt(prompt, budget, self._render, lambda t: tok(t, add_special_tokens=False).input_ids,
                                tok.decode)
        return content

    def _params(self, req: Request) -> Any:
        s = req.settings
        return self._vllm.SamplingParams(temperature=s.temperature, max_tokens=s.max_tokens,
                                         seed=None if s.seed is None else s.seed + s.n)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if requests:
            self._load()
        for i in range(0, len(requests), CHUNK):
            chunk = requests[i : i + CHUNK]
            chats = [[{"role": "user", "content": self._content(r.prompt, r.settings.max_tokens)}] for r in chunk]
            outs = self.llm.chat(chats, [self._params(r) for r in chunk], use_tqdm=False)
            for req, out in zip(chunk, outs):
                done = out.outputs[0]
                yield req, Response(text=done.text, tokens=len(done.token_ids))

    def close(self) -> None:
        self.llm = None
