""" "Test connection" against a real HTTP server on loopback: a working one, a failing one and nobody at all."""

import asyncio
import socket

from autointerp.explain.clients.check import check_connection
from autointerp.explain.clients.openai_compat import OpenAICompatibleClient


def test_a_working_server_answers(llm_server):
    srv = llm_server(lambda prompt: (200, "OK", 0))
    result = asyncio.run(check_connection(OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", retries=0)))
    assert result.ok and "'OK'" in result.message and f"m at {srv.url}/v1" in result.message
    assert srv.calls[0]["body"]["max_tokens"] == 8


def test_failures_say_why_in_one_sentence(llm_server):
    srv = llm_server(lambda prompt: (401, "bad key", 0))
    result = asyncio.run(check_connection(OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", retries=0)))
    assert not result.ok and "HTTP 401" in result.message
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    nobody = OpenAICompatibleClient("m", base_url=f"http://127.0.0.1:{port}/v1", retries=0)
    result = asyncio.run(check_connection(nobody))
    assert not result.ok and "ConnectError" in result.message
    slow = llm_server(lambda prompt: (200, "OK", 3))
    result = asyncio.run(check_connection(OpenAICompatibleClient("m", base_url=f"{slow.url}/v1"), timeout=0.5))
    assert not result.ok and "No answer" in result.message and "within 0.5 s" in result.message
    bad_url = asyncio.run(check_connection(OpenAICompatibleClient("m", base_url="not a url", retries=0)))
    assert not bad_url.ok
