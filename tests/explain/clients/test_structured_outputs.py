"""Structured outputs over real HTTP on loopback: the schema sent, rejections, fallbacks and what is remembered."""

import asyncio
import json
import logging

import pytest

from autointerp.errors import LLMError
from autointerp.explain.clients import AnthropicClient, OpenAICompatibleClient
from autointerp.explain.clients.protocol import GenerateAdapter, parse_json_object

SCHEMA = {
    "title": "answer",
    "type": "object",
    "properties": {"explanation": {"type": "string"}},
    "required": ["explanation"],
    "additionalProperties": False,
}
ANSWER = json.dumps({"explanation": "commas"})


def openai(url: str, **kw) -> OpenAICompatibleClient:
    return OpenAICompatibleClient("m", base_url=f"{url}/v1", backoff=0.01, **kw)


def fmt(call: dict) -> str | None:
    rf = call["body"].get("response_format")
    return rf["type"] if rf else None


def test_openai_sends_the_schema_and_returns_the_document(llm_server):
    srv = llm_server(lambda p, body: (200, ANSWER, 0))
    client = openai(srv.url)
    assert asyncio.run(client.complete("x", schema=SCHEMA)) == ANSWER
    rf = srv.calls[0]["body"]["response_format"]
    assert rf == {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA, "strict": True}}
    assert client.structured_mode == "json_schema"
    asyncio.run(client.complete("plain"))  # without a schema nothing is asked for
    assert fmt(srv.calls[-1]) is None


def test_json_schema_rejected_then_json_object_is_used_and_remembered(llm_server):
    def handler(prompt, body):
        if fmt({"body": body}) == "json_schema":
            return 422, "unknown response_format type", 0
        return 200, ANSWER, 0

    srv = llm_server(handler)
    client = openai(srv.url)
    for _ in range(2):
        assert json.loads(asyncio.run(client.complete("x", schema=SCHEMA))) == {"explanation": "commas"}
    assert [fmt(c) for c in srv.calls] == ["json_schema", "json_object", "json_object"]
    assert srv.calls[1]["body"]["response_format"]["schema"] == SCHEMA
    assert client.structured_mode == "json_object"


def test_a_500_naming_response_format_is_a_rejection_not_retried(llm_server):
    """llama-cpp-python's server answers an unknown response_format type with HTTP 500."""

    def handler(prompt, body):
        if fmt({"body": body}) == "json_schema":
            return 500, "{'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text'\"}", 0
        return 200, ANSWER, 0

    srv = llm_server(handler)
    client = openai(srv.url, retries=3)
    asyncio.run(client.complete("x", schema=SCHEMA))
    assert [fmt(c) for c in srv.calls] == ["json_schema", "json_object"]


def test_server_without_structured_outputs_is_read_leniently_for_the_session(llm_server, caplog):
    def handler(prompt, body):
        if "response_format" in body:
            return 400, "response_format is not supported", 0
        return 200, 'Sure! {"explanation": "commas"} Hope this helps.', 0

    srv = llm_server(handler)
    client = openai(srv.url)
    with caplog.at_level(logging.WARNING):
        text = asyncio.run(client.complete("x", schema=SCHEMA))
    assert parse_json_object(text) == {"explanation": "commas"}
    assert "rejects structured outputs" in caplog.text
    n = len(srv.calls)
    asyncio.run(client.complete("y", schema=SCHEMA))
    assert len(srv.calls) == n + 1 and fmt(srv.calls[-1]) is None and client.structured_mode == "text"


def test_other_errors_are_not_fallbacks(llm_server):
    srv = llm_server(lambda p, body: (401, "bad key", 0))
    client = openai(srv.url)
    with pytest.raises(LLMError, match="HTTP 401") as info:
        asyncio.run(client.complete("x", schema=SCHEMA))
    assert len(srv.calls) == 1 and client.structured_mode is None and info.value.reason == "HTTP 401"


def test_a_request_rejected_in_every_mode_is_an_error_and_nothing_is_remembered(llm_server):
    srv = llm_server(lambda p, body: (400, "prompt too long", 0))
    client = openai(srv.url)
    with pytest.raises(LLMError, match="prompt too long"):
        asyncio.run(client.complete("x", schema=SCHEMA))
    assert [fmt(c) for c in srv.calls] == ["json_schema", "json_object", None]
    assert client.structured_mode is None


def test_remembered_mode_rejected_later_is_an_error_not_a_downgrade(llm_server):
    answers = iter([(200, ANSWER, 0), (400, "context length exceeded", 0)])
    srv = llm_server(lambda p, body: next(answers))
    client = openai(srv.url)
    asyncio.run(client.complete("x", schema=SCHEMA))
    with pytest.raises(LLMError, match="context length"):
        asyncio.run(client.complete("x", schema=SCHEMA))
    assert len(srv.calls) == 2 and client.structured_mode == "json_schema"


def test_anthropic_forces_a_tool_whose_input_is_the_answer(llm_server):
    srv = llm_server(lambda p, body: (200, ANSWER, 0))
    client = AnthropicClient("m", base_url=srv.url, api_key="k", backoff=0.01)
    assert json.loads(asyncio.run(client.complete("x", schema=SCHEMA))) == {"explanation": "commas"}
    body = srv.calls[0]["body"]
    assert body["tools"] == [{"name": "answer", "description": "Record your answer.", "input_schema": SCHEMA}]
    assert body["tool_choice"] == {"type": "tool", "name": "answer"}


def test_anthropic_proxy_without_tools_falls_back_to_text(llm_server):
    def handler(prompt, body):
        return (400, "tools: extra inputs are not permitted", 0) if "tools" in body else (200, "commas", 0)

    srv = llm_server(handler)
    client = AnthropicClient("m", base_url=srv.url, api_key="k", backoff=0.01)
    assert asyncio.run(client.complete("x", schema=SCHEMA)) == "commas"
    assert client.structured_mode == "text"


def test_custom_generate_clients_answer_free_text_read_leniently():
    """The documented generate(prompt) client gets no schema; its answer is read like any free text."""

    class Custom:
        def generate(self, prompt):
            return 'Here you go: {"explanation": "commas"}'

    text = asyncio.run(GenerateAdapter(Custom()).complete("x", schema=SCHEMA))
    assert parse_json_object(text) == {"explanation": "commas"}
