"""One factory serves the CLI and the dashboard, with each provider's own defaults."""

import pytest

from autointerp.cli import build_parser, settings_from_args
from autointerp.explain.clients import AnthropicClient, ClientSettings, OpenAICompatibleClient, Provider, make_client


def test_each_provider_gets_its_own_default_model_and_endpoint(monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k-a")
    a = make_client(ClientSettings(Provider.ANTHROPIC))
    assert isinstance(a, AnthropicClient) and a.model == "claude-sonnet-4-5"
    assert a.base_url == "https://api.anthropic.com" and a.api_key == "k-a"
    o = make_client(ClientSettings(Provider.OPENAI, base_url="http://127.0.0.1:9/v1", max_rps=2))
    assert isinstance(o, OpenAICompatibleClient) and o.model == "gpt-4o-mini" and o.base_url == "http://127.0.0.1:9/v1"
    assert make_client(ClientSettings(Provider.OFFLINE)) is None


@pytest.mark.parametrize("provider,model", [("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-4o-mini")])
def test_cli_flags_go_through_the_same_factory(provider, model):
    a = build_parser().parse_args(["explain", "--llm", provider])
    assert make_client(settings_from_args(a)).model == model
    a = build_parser().parse_args(["explain", "--llm", provider, "--llm-model", "mine"])
    assert make_client(settings_from_args(a)).model == "mine"


def test_clients_come_from_one_registry_by_name_with_one_default_each():
    from autointerp.explain.clients.factory import HTTP_CLIENTS, MAKERS

    assert set(MAKERS) == set(Provider)  # every choice a user can make has exactly one maker
    for provider, cls in HTTP_CLIENTS.items():
        client = make_client(ClientSettings(provider, api_key="k"))
        assert type(client) is cls and client.base_url == cls.default_base_url and client.model == cls.default_model
    assert HTTP_CLIENTS[Provider.OPENAI].default_base_url == "https://api.openai.com/v1"  # the dashboard's too
