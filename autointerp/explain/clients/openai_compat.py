"""OpenAI-compatible chat completions: OpenAI, vLLM, Ollama, llama.cpp server, OpenRouter."""

from __future__ import annotations

from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.base import HTTPChatClient


class OpenAICompatibleClient(HTTPChatClient):
    """`model`, then `base_url` (default OpenAI), key from `api_key` or OPENAI_API_KEY."""

    name = "openai-compatible"
    default_model = "gpt-4o-mini"
    default_base_url = "https://api.openai.com/v1"
    default_key_env = "OPENAI_API_KEY"

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        data = await self.post("/chat/completions", body, headers)
        try:
            return str(data["choices"][0]["message"]["content"])
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"unexpected chat-completions answer shape: {str(data)[:160]}") from exc
