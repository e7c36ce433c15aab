""" "Test connection": one tiny request that says, in a sentence, whether an LLM client works."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

from autointerp.errors import LLMError

PROBE = "Reply with the single word OK."


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str  # one sentence for the user
    seconds: float


def _where(client: Any) -> str:
    url = getattr(client, "base_url", "")
    return f"{client.model} at {url}" if url else str(client.model)


async def check_connection(client: Any, timeout: float = 15.0) -> ConnectionCheck:
    """Send one short prompt (no retries beyond the client's own) and report the answer or the failure."""
    t0 = time.perf_counter()
    try:
        answer = await asyncio.wait_for(client.complete(PROBE, max_tokens=8), timeout)
    except TimeoutError:
        return ConnectionCheck(False, f"No answer from {_where(client)} within {timeout:g} s.", timeout)
    except (LLMError, httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        return ConnectionCheck(False, f"{_where(client)} failed: {exc}", time.perf_counter() - t0)
    dt = time.perf_counter() - t0
    short = " ".join(str(answer).split())[:60] or "(an empty answer)"
    return ConnectionCheck(True, f"Connected to {_where(client)}: it answered {short!r} in {dt:.1f} s.", dt)
