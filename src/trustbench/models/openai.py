"""Any OpenAI-compatible chat endpoint (OpenAI, vLLM serve, Ollama, llama.cpp server, TGI), many requests in flight.

Requests run on an asyncio loop driven from the caller's thread: `concurrency` workers share the queue,
an optional requests-per-minute limit spaces their starts, and the openai client retries connection
errors, 408/409/429 and 5xx with exponential backoff (honouring Retry-After). A response is yielded the
moment it arrives so the runner stores it at once; a server that stays unreachable through every retry,
or rejects the key or the model, ends the run (what was saved stays saved).

Identity: a name and a URL do not say which weights answer. The cache identity (`id`) is the name and URL plus
a digest of what the server says it serves (its `GET /models` entry for the model, or its only model), the
`system_fingerprint` of a one-token probe where the server returns one, and the sampling settings sent. It is
worked out on first use; when it differs from the one last seen for the same name and URL, a note says so
on stderr (and in `info()["notices"]`): the old responses are not reused.

Sampling: every request carries explicit neutral settings (top_p 1, no presence/frequency penalty; to servers
other than api.openai.com also repeat/repetition penalty 1, min_p 0, top_k disabled) so a server's own
defaults (llama.cpp's repeat_penalty 1.1, top_k 40) cannot change greedy text. `neutral=false` sends none of
them; `param.NAME=VALUE` options set any body field (JSON values: 1.1, true, "x").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections import deque
from typing import Any, Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

from ..core import Request, Response
from ..errors import TrustbenchError
from ..secrets import mask, register, register_url
from .base import ModelBackend, notice

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "no-key"  # local servers accept any key, but the client insists on one
# OpenAI's own fields at their neutral values: accepted by every OpenAI-compatible server
NEUTRAL = {"top_p": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0}
# other servers' own defaults that change greedy text (llama.cpp: repeat_penalty 1.1, top_k 40, min_p 0.05;
# vLLM/TGI: repetition_penalty); unknown fields are ignored by these servers, but OpenAI rejects them
NEUTRAL_EXTRA = {"repeat_penalty": 1.0, "repetition_penalty": 1.0, "min_p": 0.0}
VOLATILE = ("created", "permission", "permissions")  # model-list fields that change with every server start
ENDPOINTS_FILE = "endpoints.json"  # under TRUSTBENCH_HOME: the identity last seen per name@URL


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
        neutral: bool = True,
        fingerprint: bool = True,
        params: dict[str, Any] | None = None,
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
        register(key)  # masked (with its base64 forms) in every message and file from here on
        register_url(self.url)  # a key in the URL's userinfo, sent by the client as a Basic header
        self.model, self.concurrency, self.rpm = model, concurrency, rpm
        self.timeout, self.retries = timeout, retries
        self._openai = openai
        self.name = f"openai:{model}" + ("" if self.url == OPENAI_URL else f"@{public_url(self.url)}")
        self.neutral, self.fingerprint = neutral, fingerprint
        self.params = dict(params or {})
        self._id: str | None = None
        self._served: dict[str, Any] | None = None
        self._probe_fp: str | None = None
        self._seen_fps: set[str] = set()
        self.notices: list[str] = []

    # -- identity ------------------------------------------------------------------------------
    @property
    def id(self) -> str:  # type: ignore[override]
        """Name, URL and a digest of the served model, its fingerprint and the sampling sent (asks the server once)."""
        if self._id is None:
            self._identify()
        return self._id  # type: ignore[return-value]

    def sampling(self) -> dict[str, Any]:
        """The body fields sent with every request besides model, messages, temperature, max_tokens and seed."""
        _ = self.id  # they depend on which server this is
        return self._sampling()

    def _sampling(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.neutral:
            out.update(NEUTRAL)
            if self.url != OPENAI_URL:
                out.update(NEUTRAL_EXTRA)
                # vLLM before 0.9 rejects top_k=0 and wants -1; llama.cpp's server rejects -1 and wants 0
                owner = (self._served or {}).get("owned_by")
                out["top_k"] = -1 if owner == "vllm" else 0
        out.update(self.params)
        return out

    def _identify(self) -> None:
        """Ask the server what it serves (and its fingerprint), fix `id`, and note a change since the last run."""
        client = self._openai.OpenAI(api_key=self._key, base_url=self.url, timeout=min(self.timeout, 60.0),
                                     max_retries=min(self.retries, 2))
        try:
            self._served = self._served_entry(client)
            if self.fingerprint:
                self._probe_fp = self._probe(client)
        finally:
            client.close()
        parts = {"served": self._served, "system_fingerprint": self._probe_fp, "sampling": self._sampling()}
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:12]
        self._id = f"{self.name}#{digest}"
        self._remember()

    def _fatal(self, exc: Exception, what: str) -> TrustbenchError:
        oa = self._openai
        if isinstance(exc, oa.APIConnectionError):
            return TrustbenchError(f"{self.name} unreachable after {min(self.retries, 2)} retries (asking {what}): "
                                   f"{self._clean(str(exc.__cause__ or exc))[:300]}")
        status = getattr(exc, "status_code", "?")
        return TrustbenchError(f"{self.name} refused the request for {what} (HTTP {status}): "
                               f"{self._clean(str(getattr(exc, 'message', exc)))[:300]}")

    def _served_entry(self, client: Any) -> dict[str, Any] | None:
        """The server's `/models` entry for this model (or its only model), without fields that change per start."""
        oa = self._openai
        try:
            listed = [m.model_dump() for m in client.models.list()]
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.APIConnectionError) as exc:
            raise self._fatal(exc, "its model list") from None
        except oa.APIError:  # no /models on this server: the identity cannot include what it serves
            self.notices.append(f"{self.name}: the server does not list its models; the cache identity cannot "
                                "tell one served model from another")
            return None
        entry = next((m for m in listed if m.get("id") == self.model), None)
        if entry is None and len(listed) == 1:  # single-model servers answer any name with the model they hold
            entry = listed[0]
        if entry is None:
            names = ", ".join(str(m.get("id")) for m in listed[:10])
            self.notices.append(f"{self.name}: the server does not list '{self.model}' (it lists: {names or 'nothing'})")
            return None
        return {k: v for k, v in sorted(entry.items()) if k not in VOLATILE and v is not None}

    def _probe(self, client: Any) -> str | None:
        """The `system_fingerprint` of a one-token reply (None where the server gives none or refuses the probe)."""
        oa = self._openai
        try:
            out = client.chat.completions.create(model=self.model, messages=[{"role": "user", "content": "Say OK."}],
                                                 temperature=0.0, max_tokens=1)
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError, oa.APIConnectionError) as exc:
            raise self._fatal(exc, "a one-token probe") from None
        except oa.APIError:
            return None
        return getattr(out, "system_fingerprint", None) or None

    def _remember(self) -> None:
        """Compare with, then record, the identity last seen for this name@URL (best effort: a note, never a failure)."""
        from ..config import home

        path = home() / ENDPOINTS_FILE
        try:
            seen = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            if not isinstance(seen, dict):
                seen = {}
        except (OSError, ValueError):
            seen = {}
        now = {"id": self._id, "served": (self._served or {}).get("id"), "system_fingerprint": self._probe_fp}
        old = seen.get(self.name)
        if isinstance(old, dict) and old.get("id") != self._id:
            self.notices.append(
                f"{self.name} now serves model {now['served']!r} (fingerprint {now['system_fingerprint']!r}); responses "
                f"cached from model {old.get('served')!r} (fingerprint {old.get('system_fingerprint')!r}) or with other "
                f"sampling settings are not reused (identity {old.get('id')} -> {self._id})")
        for line in self.notices:
            notice(line)
        if old != now:
            seen[self.name] = now
            tmp = path.with_name(f".{ENDPOINTS_FILE}.{os.getpid()}")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps(seen, indent=1, sort_keys=True), encoding="utf-8")
                os.replace(tmp, path)
            except OSError:
                tmp.unlink(missing_ok=True)

    def info(self) -> dict[str, Any]:
        fps = sorted(self._seen_fps)
        return {
            "id": self.id, "name": self.name, "url": public_url(self.url),
            "served_model": self._served, "system_fingerprint": self._probe_fp,
            "fingerprints_seen": fps, "sampling": self.sampling(), "neutral_sampling": self.neutral,
            "notices": list(self.notices),
        }

    def _clean(self, text: str) -> str:
        """Error text with the key masked, in case a server echoes it (raw, in a URL, or base64 in a Basic header)."""
        return mask(text.replace(self._key, "***") if self._key != NO_KEY else text)

    async def _one(self, client: Any, req: Request) -> Response:
        """One chat completion; per-item problems become a failed Response, fatal ones raise TrustbenchError."""
        oa, s = self._openai, req.settings
        body = self._sampling()
        extra = {k: body.pop(k) for k in list(body) if k not in NEUTRAL}  # fields the client has no keyword for
        if s.seed is not None:
            body["seed"] = s.seed + s.n
        try:
            out = await client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": req.prompt}],
                temperature=s.temperature, max_tokens=s.max_tokens, extra_body=extra or None, **body,
            )
        except (oa.AuthenticationError, oa.PermissionDeniedError, oa.NotFoundError) as exc:
            raise TrustbenchError(f"{self.name} refused the request (HTTP {exc.status_code}): "
                                  f"{self._clean(str(exc.message))[:300]}") from None
        except oa.APITimeoutError:
            return Response(text=None, error=f"timed out after {self.timeout:g} s ({self.retries} retries)")
        except oa.APIConnectionError as exc:
            raise TrustbenchError(f"{self.name} unreachable after {self.retries} retries: "
                                  f"{self._clean(str(exc.__cause__ or exc))[:300]}") from None
        except oa.APIStatusError as exc:
            return Response(text=None, error=f"HTTP {exc.status_code}: {self._clean(str(exc.message))[:300]}")
        if not out.choices:
            return Response(text=None, error="the server returned no choices")
        tokens = out.usage.completion_tokens if out.usage and out.usage.completion_tokens else 0
        fp = getattr(out, "system_fingerprint", None)
        if fp and fp not in self._seen_fps:
            self._seen_fps.add(fp)
            if self._probe_fp and fp != self._probe_fp:
                notice(f"{self.name}: a reply came from system_fingerprint {fp!r}, not {self._probe_fp!r} as probed; "
                       "the server changed builds during the run")
        return Response(text=out.choices[0].message.content or "", tokens=tokens)

    def generate(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Response]]:
        if not requests:
            return
        _ = self.id  # identity first: the sampling sent depends on what the server serves
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
