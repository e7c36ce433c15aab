"""LLM clients: OpenAI-compatible chat, Anthropic Messages, and any object with generate(prompt)."""

from .anthropic import AnthropicClient
from .base import LLMClient, complete_text
from .openai_compat import OpenAICompatibleClient

__all__ = ["AnthropicClient", "LLMClient", "OpenAICompatibleClient", "complete_text"]
