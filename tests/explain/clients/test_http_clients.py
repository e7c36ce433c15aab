"""Both HTTP clients over real HTTP on loopback: success, malformed JSON, timeout, 429 then success, 500."""

import asyncio

import pytest

from autointerp.errors import LLMError
from autointerp.explain.clients import AnthropicClient, OpenAICompatibleClient


def make(kind: str, url: str, **kw):
    if kind == "openai":
        return OpenAICompatibleClient("test-model", base_url=f"{url}/v1", api_key="k", backoff=0.01, **kw)
    return AnthropicClient("test-model", base_url=url, api_key="k", backoff=0.01, **kw)


KINDS = ["openai", "anthropic"]


@pytest.mark.parametrize("kind", KINDS)
def test_success_sends_the_api_shape(kind, llm_server):
    srv = llm_server(lambda p: (200, f"echo: {p}", 0))
    out = asyncio.run(make(kind, srv.url).complete("hello"))
    assert out == "echo: hello"
    call = srv.calls[0]
    if kind == "openai":
        assert call["path"] == "/v1/chat/completions" and call["headers"]["Authorization"] == "Bearer k"
    else:
        assert call["path"] == "/v1/messages" and call["headers"]["x-api-key"] == "k"
        assert call["body"]["max_tokens"] > 0


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_json_is_an_error_not_a_result(kind, llm_server):
    srv = llm_server(lambda p: (299, "{not json", 0))  # 299: send the raw body with HTTP 200
    with pytest.raises(LLMError, match="malformed JSON"):
        asyncio.run(make(kind, srv.url).complete("x"))


@pytest.mark.parametrize("kind", KINDS)
def test_timeout_is_retried_then_fails(kind, llm_server):
    srv = llm_server(lambda p: (200, "late", 1.0))
    with pytest.raises(LLMError, match="after 2 attempts"):
        asyncio.run(make(kind, srv.url, timeout=0.2, retries=1).complete("x"))
    assert len(srv.calls) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_rate_limit_then_success(kind, llm_server):
    answers = iter([(429, "slow down", 0), (429, "slow down", 0), (200, "ok", 0)])
    srv = llm_server(lambda p: next(answers))
    assert asyncio.run(make(kind, srv.url).complete("x")) == "ok"
    assert len(srv.calls) == 3


@pytest.mark.parametrize("kind", KINDS)
def test_server_error_exhausts_retries(kind, llm_server):
    srv = llm_server(lambda p: (500, "boom", 0))
    with pytest.raises(LLMError, match="HTTP 500"):
        asyncio.run(make(kind, srv.url, retries=2).complete("x"))
    assert len(srv.calls) == 3


def test_client_error_is_not_retried(llm_server):
    srv = llm_server(lambda p: (401, "bad key", 0))
    with pytest.raises(LLMError, match="HTTP 401"):
        asyncio.run(make("openai", srv.url).complete("x"))
    assert len(srv.calls) == 1


def test_rate_limit_spaces_requests(llm_server):
    import time

    srv = llm_server(lambda p: (200, "ok", 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", max_rps=20)

    async def burst():
        await asyncio.gather(*(client.complete("x") for _ in range(6)))

    t = time.perf_counter()
    asyncio.run(burst())
    assert time.perf_counter() - t >= 5 / 20 * 0.9
    assert len(srv.calls) == 6
