"""Anthropic's Messages API."""

from __future__ import annotations

import os

import httpx

from ..errors import LLMError
from .base import RateLimiter, post_with_retry


class AnthropicClient:
    name = "anthropic"

    def __init__(
        self,
        model: str = "claude-sonnet-4-5",
        base_url: str = "https://api.anthropic.com",
        api_key: str | None = None,
        api_key_env: str = "ANTHROPIC_API_KEY",
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 1.0,
        max_rps: float | None = None,
    ):
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(api_key_env, "")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.limiter = RateLimiter(max_rps)

    async def complete(self, prompt: str, max_tokens: int = 512) -> str:
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        body = {"model": self.model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            data = await post_with_retry(
                lambda: http.post(f"{self.base_url}/v1/messages", json=body, headers=headers),
                self.retries,
                self.backoff,
                self.limiter,
            )
        try:
            return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
        except (KeyError, TypeError, AttributeError) as exc:
            raise LLMError(f"unexpected Messages answer shape: {str(data)[:160]}") from exc
