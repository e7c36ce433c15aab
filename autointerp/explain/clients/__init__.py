"""LLM clients: OpenAI-compatible chat, Anthropic Messages, and any object with generate(prompt)."""

from autointerp.explain.clients.anthropic import AnthropicClient
from autointerp.explain.clients.factory import ClientSettings, Provider, make_client
from autointerp.explain.clients.openai_compat import OpenAICompatibleClient
from autointerp.explain.clients.protocol import GenerateAdapter, LLMClient

__all__ = [
    "AnthropicClient",
    "ClientSettings",
    "GenerateAdapter",
    "LLMClient",
    "OpenAICompatibleClient",
    "Provider",
    "make_client",
]
