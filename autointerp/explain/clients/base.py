"""The client protocol, retry policy and the adapter for user-supplied `generate(prompt)` objects."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx

from autointerp.errors import LLMError

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


@runtime_checkable
class LLMClient(Protocol):
    """A chat model. With a JSON `schema` the answer is a JSON document (structured output where the
    server supports it)."""

    name: str
    model: str

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str: ...


class RateLimiter:
    """At most `rate` request starts per second across concurrent tasks (None: unlimited).

    Its lock is made per event loop, so one client can serve several `asyncio.run` calls."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self._next = 0.0
        self._locks: dict[int, asyncio.Lock] = {}

    async def wait(self) -> None:
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(id(loop), asyncio.Lock())
        async with lock:
            now = loop.time()
            if self._next > now:
                await asyncio.sleep(self._next - now)
                now = self._next
            self._next = now + self.interval


async def post_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    retries: int = 3,
    backoff: float = 1.0,
    limiter: RateLimiter | None = None,
) -> dict[str, Any]:
    """Retry timeouts, rate limits and 5xx with exponential backoff; anything else fails at once."""
    last = ""
    for attempt in range(retries + 1):
        if limiter is not None:
            await limiter.wait()
        try:
            resp = await send()
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if resp.status_code < 300:
                try:
                    return resp.json()
                except (json.JSONDecodeError, ValueError) as exc:
                    raise LLMError(f"the LLM server answered with malformed JSON ({exc})") from exc
            last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            if resp.status_code not in RETRY_STATUS:
                raise LLMError(last)
            wait = resp.headers.get("retry-after")
            if wait and attempt < retries:
                try:
                    await asyncio.sleep(min(float(wait), 30.0))
                    continue
                except ValueError:
                    pass
        if attempt < retries:
            await asyncio.sleep(backoff * 2**attempt)
    raise LLMError(f"the LLM call failed after {retries + 1} attempts ({last})")


class HTTPChatClient:
    """Shared plumbing of the HTTP clients: endpoint, key, timeout, retries and rate limit."""

    name = "http"
    default_model = ""
    default_base_url = ""
    default_key_env = ""

    def __init__(
        self,
        model: str = "",
        base_url: str | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_rps: float | None = None,
    ):
        self.model = model or self.default_model
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        env = api_key_env or self.default_key_env
        self.api_key = api_key if api_key is not None else os.environ.get(env, "")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.limiter = RateLimiter(max_rps)

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            return await post_with_retry(
                lambda: http.post(f"{self.base_url}{path}", json=body, headers=headers),
                self.retries,
                self.backoff,
                self.limiter,
            )


@runtime_checkable
class GenerateClient(Protocol):
    """The design document's custom client: `generate(prompt)` returning text or
    {"explanation": ..., "confidence": ...}, sync or async."""

    def generate(self, prompt: str) -> Any: ...


class GenerateAdapter:
    """The documented custom client, any object with `generate(prompt)` (sync or async), as an LLMClient.

    Such a client writes explanations; nothing says it can label examples reliably, so it is never
    used as a detection scorer (`scores = False`)."""

    scores = False

    def __init__(self, client: GenerateClient):
        self.client = client
        self.name = f"custom:{type(client).__name__}"
        self.model = str(getattr(client, "model", type(client).__name__))

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str:
        try:
            out = self.client.generate(prompt)
            if inspect.isawaitable(out):
                out = await out
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"the custom LLM client raised {type(exc).__name__}: {exc}") from exc
        if isinstance(out, str):
            return out
        if isinstance(out, dict):
            return json.dumps(out)
        raise LLMError(f"the custom client's generate() returned {type(out).__name__}, not text")


def parse_json_object(text: str) -> dict[str, Any]:
    """First JSON object in a model's answer (models often wrap JSON in prose or code fences)."""
    m = re.search(r"\{.*\}", text, re.S)
    if not m:
        raise LLMError(f"expected a JSON object in the LLM answer, got: {text[:120]!r}")
    try:
        obj = json.loads(m.group(0))
    except json.JSONDecodeError as exc:
        raise LLMError(f"the LLM answer is not valid JSON ({exc.msg}): {text[:120]!r}") from exc
    if not isinstance(obj, dict):
        raise LLMError("the LLM answer is not a JSON object")
    return obj
