"""OpenAI-compatible chat completions: OpenAI, vLLM, Ollama, llama.cpp server, OpenRouter."""

from __future__ import annotations

import os

import httpx

from ..errors import LLMError
from .base import RateLimiter, post_with_retry


class OpenAICompatibleClient:
    name = "openai-compatible"

    def __init__(
        self,
        model: str,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
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
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            data = await post_with_retry(
                lambda: http.post(f"{self.base_url}/chat/completions", json=body, headers=headers),
                self.retries,
                self.backoff,
                self.limiter,
            )
        try:
            return str(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"unexpected chat-completions answer shape: {str(data)[:160]}") from exc
