"""Anthropic's Messages API."""

from __future__ import annotations

from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.base import HTTPChatClient


class AnthropicClient(HTTPChatClient):
    """`model` (default claude-sonnet-4-5), key from `api_key` or ANTHROPIC_API_KEY."""

    name = "anthropic"
    default_model = "claude-sonnet-4-5"
    default_base_url = "https://api.anthropic.com"
    default_key_env = "ANTHROPIC_API_KEY"

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str:
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        body = {"model": self.model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        data = await self.post("/v1/messages", body, headers)
        try:
            return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
        except (KeyError, TypeError, AttributeError) as exc:
            raise LLMError(f"unexpected Messages answer shape: {str(data)[:160]}") from exc
