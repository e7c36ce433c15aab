"""OpenAI-compatible chat completions: OpenAI, vLLM, Ollama, llama.cpp server, OpenRouter."""

from __future__ import annotations

from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.protocol import HTTPChatClient, schema_name


class OpenAICompatibleClient(HTTPChatClient):
    """`model`, then `base_url` (default OpenAI), key from `api_key` or OPENAI_API_KEY.

    Structured outputs: `response_format` of type `json_schema` (OpenAI, vLLM, Ollama, llama.cpp's
    llama-server), then `json_object` with a `schema` field (llama-cpp-python's server), then the prompt alone.
    """

    name = "openai-compatible"
    default_model = "gpt-4o-mini"
    default_base_url = "https://api.openai.com/v1"
    default_key_env = "OPENAI_API_KEY"
    structured_modes = ("json_schema", "json_object")
    schema_fields = ("response_format",)

    def with_schema(self, body: dict[str, Any], schema: dict[str, Any], mode: str) -> dict[str, Any]:
        if mode == "json_schema":
            spec = {"name": schema_name(schema), "schema": schema, "strict": True}
            fmt: dict[str, Any] = {"type": "json_schema", "json_schema": spec}
        else:
            fmt = {"type": "json_object", "schema": schema}
        return {**body, "response_format": fmt}

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
        data, _ = await self.post_structured("/chat/completions", body, headers, schema)
        try:
            message = data["choices"][0]["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(
                f"unexpected chat-completions answer shape: {str(data)[:160]}", reason="malformed response"
            ) from exc
        content = message.get("content") if isinstance(message, dict) else None
        if content is None:
            refusal = message.get("refusal") if isinstance(message, dict) else None
            raise LLMError(f"the model gave no answer: {refusal or str(data)[:160]}", reason="no answer")
        return str(content)
