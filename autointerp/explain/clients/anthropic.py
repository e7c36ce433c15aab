"""Anthropic's Messages API."""

from __future__ import annotations

import json
from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.protocol import HTTPChatClient, schema_name


class AnthropicClient(HTTPChatClient):
    """`model` (default claude-sonnet-4-5), key from `api_key` or ANTHROPIC_API_KEY.

    Structured outputs: one tool whose input schema is the answer's schema, forced with `tool_choice`; the
    tool call's input is the answer."""

    name = "anthropic"
    default_model = "claude-sonnet-4-5"
    default_base_url = "https://api.anthropic.com"
    default_key_env = "ANTHROPIC_API_KEY"
    structured_modes = ("tool",)
    schema_fields = ("tool_choice", "tools")

    def with_schema(self, body: dict[str, Any], schema: dict[str, Any], mode: str) -> dict[str, Any]:
        name = schema_name(schema)
        tool = {"name": name, "description": "Record your answer.", "input_schema": schema}
        return {**body, "tools": [tool], "tool_choice": {"type": "tool", "name": name}}

    async def complete(self, prompt: str, max_tokens: int = 512, schema: dict[str, Any] | None = None) -> str:
        headers = {"x-api-key": self.api_key, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        body = {"model": self.model, "max_tokens": max_tokens, "messages": [{"role": "user", "content": prompt}]}
        data, mode = await self.post_structured("/v1/messages", body, headers, schema)
        try:
            blocks = data["content"]
            if mode == "tool":
                calls = [b for b in blocks if b.get("type") == "tool_use"]
                if calls:
                    return json.dumps(calls[0]["input"])
            return "".join(b.get("text", "") for b in blocks if b.get("type") == "text")
        except (KeyError, TypeError, AttributeError) as exc:
            raise LLMError(f"unexpected Messages answer shape: {str(data)[:160]}", reason="malformed response") from exc
