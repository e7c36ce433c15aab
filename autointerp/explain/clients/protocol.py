"""The client protocol, retry policy and the adapter for user-supplied `generate(prompt)` objects."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx

from autointerp.core.nnsight_mount import prepare_async_http
from autointerp.errors import LLMError
from autointerp.formatting import count_text

log = logging.getLogger(__name__)
RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
# What a server answers when it does not know a request field such as `response_format` or `tools`.
REJECTED_STATUS = {400, 415, 422, 501}


@runtime_checkable
class LLMClient(Protocol):
    """A chat model. With a JSON `schema` the answer is a JSON document (structured output where the
    server supports it)."""

    name: str
    model: str

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str: ...


class LLMStatusError(LLMError):
    """The server answered with an HTTP error status it will answer again: retrying cannot help.

    `rejected`: the server refused a request field (its status says so, or its message names the field),
    so the same request without that field may succeed."""

    def __init__(self, message: str, status: int, rejected: bool = False):
        super().__init__(message, reason=f"HTTP {status}")
        self.status = status
        self.rejected = rejected


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
    fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Retry timeouts, rate limits and 5xx with exponential backoff; anything else fails at once.

    An error that names one of the request's optional `fields` is a rejection of that field and fails at
    once too, whatever its status (llama-cpp-python's server answers an unknown response_format with 500)."""
    last, reason = "", "LLM error"
    for attempt in range(retries + 1):
        if limiter is not None:
            await limiter.wait()
        try:
            resp = await send()
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last = f"{type(exc).__name__}: {exc}"
            reason = "timeout" if isinstance(exc, httpx.TimeoutException) else "unreachable"
        else:
            if resp.status_code < 300:
                try:
                    return resp.json()
                except (json.JSONDecodeError, ValueError) as exc:
                    raise LLMError(
                        f"the LLM server answered with malformed JSON ({exc})", reason="malformed response"
                    ) from exc
            last = f"HTTP {resp.status_code}: {resp.text[:200]}"
            reason = f"HTTP {resp.status_code}"
            names_field = any(f in resp.text for f in fields)
            if names_field or resp.status_code not in RETRY_STATUS:
                rejected = names_field or resp.status_code in REJECTED_STATUS
                raise LLMStatusError(last, resp.status_code, rejected=rejected)
            wait = resp.headers.get("retry-after")
            if wait and attempt < retries:
                try:
                    await asyncio.sleep(min(float(wait), 30.0))
                    continue
                except ValueError:
                    pass
        if attempt < retries:
            await asyncio.sleep(backoff * 2**attempt)
    raise LLMError(f"the LLM call failed after {count_text(retries + 1, 'attempt')} ({last})", reason=reason)


class HTTPChatClient:
    """Shared plumbing of the HTTP clients: endpoint, key, timeout, retries, rate limit, structured outputs."""

    name = "http"
    default_model = ""
    default_base_url = ""
    default_key_env = ""
    # Ways to ask this API for a JSON schema, best first; "text" (the prompt alone) is always the last resort.
    structured_modes: tuple[str, ...] = ()
    schema_fields: tuple[str, ...] = ()  # the request fields those modes add, as servers name them in errors

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
        # The first mode the server accepted, kept for the session: None until a schema request succeeds.
        self.structured_mode: str | None = None

    def with_schema(self, body: dict[str, Any], schema: dict[str, Any], mode: str) -> dict[str, Any]:
        """The request body asking for `schema` in `mode`; each API defines its own."""
        raise NotImplementedError

    async def post_structured(
        self, path: str, body: dict[str, Any], headers: dict[str, str], schema: dict[str, Any] | None
    ) -> tuple[dict[str, Any], str]:
        """Post asking for `schema` in the first mode the server accepts; returns the answer and that mode.

        A server that rejects a mode (HTTP 400/415/422/501, or an error naming the schema field) is asked
        again in the next one, down to the plain prompt whose answer callers read leniently. The mode that
        worked is remembered, so later requests skip the rejected ones; a rejection of the remembered mode is
        a real error, not another fallback."""
        if schema is None:
            return await self.post(path, body, headers), "text"
        modes = [self.structured_mode] if self.structured_mode else [*self.structured_modes, "text"]
        for i, mode in enumerate(modes):
            request = body if mode == "text" else self.with_schema(body, schema, mode)
            try:
                data = await self.post(path, request, headers, () if mode == "text" else self.schema_fields)
            except LLMStatusError as exc:
                if not exc.rejected or i == len(modes) - 1:
                    raise
                log.info("%s rejected structured-output mode %s (%s); trying the next", self.base_url, mode, exc)
                continue
            self.remember(mode)
            return data, mode
        raise AssertionError("unreachable: the last mode either returns or raises")

    def remember(self, mode: str) -> None:
        if self.structured_mode is None:
            self.structured_mode = mode
            if mode == "text":
                log.warning(
                    "%s rejects structured outputs (JSON schemas); for this session its answers are read "
                    "leniently from free text, which small models often get wrong",
                    self.base_url,
                )

    async def post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], fields: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        prepare_async_http()
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            return await post_with_retry(
                lambda: http.post(f"{self.base_url}{path}", json=body, headers=headers),
                self.retries,
                self.backoff,
                self.limiter,
                fields,
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
            raise LLMError(f"the custom LLM client raised {type(exc).__name__}: {exc}", reason="custom client") from exc
        if isinstance(out, str):
            return out
        if isinstance(out, dict):
            return json.dumps(out)
        raise LLMError(
            f"the custom client's generate() returned {type(out).__name__}, not text", reason="custom client"
        )


def schema_name(schema: dict[str, Any]) -> str:
    """The name a structured-output request carries (OpenAI: [a-zA-Z0-9_-]{1,64})."""
    name = re.sub(r"[^a-zA-Z0-9_-]", "_", str(schema.get("title") or "answer"))
    return name[:64] or "answer"


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's answer: the whole text under structured outputs; otherwise the first
    object inside prose or code fences (what models do when they are only asked for JSON)."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        m = re.search(r"\{.*\}", text, re.S)
        if not m:
            what = "is cut off JSON (max_tokens reached?)" if "{" in text else "has no JSON object"
            raise LLMError(f"the LLM answer {what}: {text[:120]!r}", reason="unreadable answer") from None
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError as exc:
            raise LLMError(
                f"the LLM answer is not valid JSON ({exc.msg}): {text[:120]!r}", reason="unreadable answer"
            ) from exc
    if not isinstance(obj, dict):
        raise LLMError(f"the LLM answer is not a JSON object: {text[:120]!r}", reason="unreadable answer")
    return obj
