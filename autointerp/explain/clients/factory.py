"""One place that turns "which LLM" into a client, for the CLI and the dashboard alike."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from autointerp.explain.clients.protocol import LLMClient
from autointerp.explain.explainers.contract import Explainer


class Provider(StrEnum):
    OFFLINE = "offline"  # exact feature rules, no LLM
    LOCAL = "local"  # the workspace's own model chooses among candidate labels
    OPENAI = "openai"  # any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp
    ANTHROPIC = "anthropic"


@dataclass(frozen=True)
class ClientSettings:
    """Empty model or base URL means the provider's default; an empty key means its environment variable."""

    provider: Provider = Provider.OFFLINE
    model: str = ""
    base_url: str = ""
    api_key: str = ""
    max_rps: float | None = None
    timeout: float = 60.0
    retries: int = 3


def make_client(settings: ClientSettings, lm: Any = None) -> LLMClient | Explainer | None:
    """None for offline; `lm` is the loaded nnterp model, needed only by the local label chooser."""
    p = settings.provider
    if p is Provider.OFFLINE:
        return None
    if p is Provider.LOCAL:
        from autointerp.explain.explainers.local_lm import LocalLabelChooser

        return LocalLabelChooser(lm)
    from autointerp.explain.clients.anthropic import AnthropicClient
    from autointerp.explain.clients.openai_compat import OpenAICompatibleClient

    cls = OpenAICompatibleClient if p is Provider.OPENAI else AnthropicClient
    return cls(
        settings.model or cls.default_model,
        base_url=settings.base_url or None,
        api_key=settings.api_key or None,
        max_rps=settings.max_rps,
        timeout=settings.timeout,
        retries=settings.retries,
    )
