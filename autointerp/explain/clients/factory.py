"""One place that turns "which LLM" into a client, for the CLI and the dashboard alike: a registry by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from autointerp.explain.clients.anthropic import AnthropicClient
from autointerp.explain.clients.openai_compat import OpenAICompatibleClient
from autointerp.explain.clients.protocol import LLMClient
from autointerp.explain.explainers.contract import Explainer


class Provider(StrEnum):
    OFFLINE = "offline"  # exact feature rules, no LLM
    LOCAL = "local"  # the workspace's own model chooses among candidate labels
    OPENAI = "openai"  # any OpenAI-compatible server: OpenAI, vLLM, Ollama, llama.cpp
    ANTHROPIC = "anthropic"


# The HTTP clients by provider; each class carries its own default model and base URL, which the CLI and
# the dashboard both show, so there is one default per provider.
HTTP_CLIENTS: dict[Provider, type[OpenAICompatibleClient] | type[AnthropicClient]] = {
    Provider.OPENAI: OpenAICompatibleClient,
    Provider.ANTHROPIC: AnthropicClient,
}


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


def _offline(settings: ClientSettings, lm: Any) -> None:
    return None


def _local(settings: ClientSettings, lm: Any) -> Explainer:
    from autointerp.explain.explainers.local_lm import LocalLabelChooser  # loads the prompt machinery only here

    return LocalLabelChooser(lm)


def _http(settings: ClientSettings, lm: Any) -> LLMClient:
    cls = HTTP_CLIENTS[settings.provider]
    return cls(
        settings.model or cls.default_model,
        base_url=settings.base_url or None,
        api_key=settings.api_key or None,
        max_rps=settings.max_rps,
        timeout=settings.timeout,
        retries=settings.retries,
    )


MAKERS: dict[Provider, Callable[[ClientSettings, Any], LLMClient | Explainer | None]] = {
    Provider.OFFLINE: _offline,
    Provider.LOCAL: _local,
    **{p: _http for p in HTTP_CLIENTS},
}


def make_client(settings: ClientSettings, lm: Any = None) -> LLMClient | Explainer | None:
    """None for offline; `lm` is the loaded nnterp model, needed only by the local label chooser."""
    return MAKERS[settings.provider](settings, lm)
