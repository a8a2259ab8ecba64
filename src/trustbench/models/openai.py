"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM serve, Ollama, llama.cpp server, TGI), many requests in flight.

Requests run on an asyncio loop driven from the caller's thread: `concurrency` workers share the queue,
an optional requests-per-minute limit spaces their starts, and the openai client retries connection
errors, 408/409/429 and 5xx with exponential backoff (honouring Retry-After). A response is yielded the
moment it arrives so the runner stores it at once; a server that stays unreachable through every retry,
or rejects the key or the model, ends the run (what was saved stays saved).
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..core import Request, Response
from ..errors import TrustbenchError
from .base import ModelBackend

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers accept any key, but the client insists on one


def public_url(url: str) -> str:
    """The URL without credentials, query or fragment: safe for ids, logs and results."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class OpenAIBackend(ModelBackend):
    """Chat completions over HTTP with bounded concurrency, a rate limit, timeouts and retries."""

    def __init__(
        self,
        model: str,
        url: str | None = None,
        *,
        key_env: str | None = None,
        concurrency: int = 16,
        rpm: float = 0.0,
        timeout: float = 600.0,
        retries: int = 8,
    ):
        try:
            import openai
        except ImportError:
            raise TrustbenchError("The openai backend needs the 'openai' package: pip install openai") from None
        if not model:
            raise TrustbenchError("openai: no model name; use openai:MODEL or openai:MODEL@URL")
        self.url = (url or OPENAI_URL).rstrip("/")
        if urlsplit(self.url).scheme not in ("http", "https") or not urlsplit(self.url).hostname:
            raise TrustbenchError(f"openai:{model}: '{public_url(self.url)}' is not an http(s) URL")
        if concurrency < 1 or retries < 0 or timeout <= 0 or rpm < 0:
            raise TrustbenchError("openai: concurrency >= 1, retries >= 0, timeout > 0 and rpm >= 0 are required")
        env = key_env or "OPENAI_API_KEY"
        key = os.environ.get(env)
        if not key and (key_env or self.url == OPENAI_URL):
            raise TrustbenchError(f"openai:{model}: no API key; set the environment variable {env}")
        self._key = key or NO_KEY
        self.model, self.concurrency, self.rpm = model, concurrency, rpm
        self.timeout, self.retries = timeout, retries
        self._openai = openai
        self.id = f"openai:{model}" + ("" if self.url == OPENAI_URL else f"@{public_url(self.url)}")

    def _clean(self, text: str) -> str:
        """Error text with the key masked, in case a server echoes it."""
        return text.replace(self._key, "***") if self._key != NO_KEY else text

    async def _one(self, client: Any, req: Request) -> Response:
        """One chat completion; per-item problems become a failed Response, fatal ones raise TrustbenchError."""
        oa, s = self._openai, req.settings
        extra = {} if s.seed is None else {"seed": s.seed + s.n}
        try:
            out = await client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": req.prompt}],
                temperature=s.temperature, max_tokens=s.max_tokens, **extra,
            )
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
            raise TrustbenchError(f"{self.id} refused the request (HTTP {exc.status_code}): "
                                  f"{self._clean(str(exc.message))[:300]}") from None
        except oa.APITimeoutError:
            return Response(text=None, error=f"timed out after {self.timeout:g} s ({self.retries} retries)")
        except oa.APIConnectionError as exc:
            raise TrustbenchError(f"{self.id} unreachable after {self.retries} retries: "
                                  f"{self._clean(str(exc.__cause__ or exc))[:300]}") from None
        except oa.APIStatusError as exc:
            return Response(text=None, error=f"HTTP {exc.status_code}: {self._clean(str(exc.message))[:300]}")
        if not out.choices:
            return Response(text=None, error="the server returned no choices")
        tokens = out.usage.completion_tokens if out.usage and out.usage.completion_tokens else 0
        return Response(text=out.choices[0].message.content or "", tokens=tokens)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if not requests:
            return
        loop = asyncio.new_event_loop()
        client = self._openai.AsyncOpenAI(api_key=self._key, base_url=self.url, timeout=self.timeout,
                                          max_retries=self.retries)
        todo = deque(requests)
        done: asyncio.Queue[tuple[Request, Response | BaseException]] = asyncio.Queue()
        interval = 60.0 / self.rpm if self.rpm else 0.0
        next_start = 0.0

        async def pace() -> None:
            """Space request starts `interval` apart across all workers."""
            nonlocal next_start
            now = loop.time()
            start = max(now, next_start)
            next_start = start + interval
            if start > now:
                await asyncio.sleep(start - now)

        async def worker() -> None:
            while todo:
                req = todo.popleft()
                if interval:
                    await pace()
                try:
                    result: Response | BaseException = await self._one(client, req)
                except Exception as exc:  # handed to the consumer, which raises it
                    result = exc
                await done.put((req, result))

        workers = [loop.create_task(worker()) for _ in range(min(self.concurrency, len(requests)))]
        try:
            for _ in range(len(requests)):
                req, result = loop.run_until_complete(done.get())
                if isinstance(result, BaseException):
                    raise result
                yield req, result
        finally:
            for w in workers:
                w.cancel()
            loop.run_until_complete(asyncio.gather(*workers, return_exceptions=True))
            loop.run_until_complete(client.close())
            loop.close()
