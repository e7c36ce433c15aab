"""LLM explanations through the same path users use: prompt, parse, detection scoring, caching rules."""

import asyncio
import json
import re

import numpy as np

from autointerp.explain.clients import OpenAICompatibleClient
from autointerp.explain.features import shape


def biggest(interp) -> int:
    return int(np.argmax(interp.validation.index.counts))


FREE_TEXT = "Where a reader would pause or stop"  # names no concept, word class or token: not readable


def is_detection(prompt: str) -> bool:
    return "one key per example" in prompt


def detector(prompt: str, explanation: str = FREE_TEXT):
    """An 'LLM' that explains in free text and detects by the marked token's character class."""
    if is_detection(prompt):
        marked = re.findall(r"^\d+\. .*?<<(.*?)>>", prompt, re.M)
        labels = {str(i + 1): int(shape(t) in {"sentence_end", "comma", "other_punct"}) for i, t in enumerate(marked)}
        return 200, json.dumps(labels), 0
    return 200, "Sure: " + json.dumps({"explanation": explanation, "confidence": 0.99}), 0


def test_llm_explanation_is_scored_by_detection_not_self_report(tiny_interp, llm_server):
    srv = llm_server(detector)
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    cid = biggest(tiny_interp)
    assert tiny_interp.explanations.read_rule(FREE_TEXT) is None
    e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client))
    assert e.explanation == FREE_TEXT, e.info.error
    assert e.metadata["stated_confidence"] == 0.99
    assert e.metadata["score"]["method"] == "llm-detection" and e.metadata["status"] == "scored"
    s = e.metadata["score"]
    assert e.confidence == max(0.0, min(1.0, 2 * (s["balanced_accuracy"] - 0.5)))
    assert s["n_pos"] > 0 and s["n_hard"] + s["n_random"] > 0
    prompt = srv.calls[0]["body"]["messages"][0]["content"]
    assert "<<" in prompt and "NEAREST OTHER CLUSTERS" in prompt and "[band 4]" in prompt
    # every request asked for its answer's schema (structured outputs), the detection ones one key per example
    formats = [c["body"]["response_format"] for c in srv.calls]
    assert all(f["type"] == "json_schema" and f["json_schema"]["strict"] for f in formats)
    assert formats[0]["json_schema"]["schema"]["required"] == ["explanation", "confidence"]
    for call, fmt in zip(srv.calls[1:], formats[1:], strict=True):
        n = len(re.findall(r"^\d+\. ", call["body"]["messages"][0]["content"], re.M))
        assert fmt["json_schema"]["schema"]["required"] == [str(i + 1) for i in range(n)]
    assert tiny_interp.cache.get(cid).explanation == FREE_TEXT
    # a cached LLM explanation is reused, not regenerated
    n = len(srv.calls)
    asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client))
    assert len(srv.calls) == n


def test_llm_text_naming_a_category_is_read_as_a_rule_and_scored_exactly(tiny_interp, llm_server):
    srv = llm_server(lambda p: detector(p, "Punctuation marks"))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    cid = biggest(tiny_interp)
    e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client))
    s = e.metadata["score"]
    assert e.explanation == "Punctuation marks" and e.metadata["status"] == "scored"
    assert s["method"] == "exact-rule" and e.info.rule == [["pos:PUNCT"]]
    assert e.metadata["evidence"]["rule"] == [["pos:PUNCT"]] and e.metadata["evidence"]["rule_read_from_text"]
    assert not any(is_detection(c["body"]["messages"][0]["content"]) for c in srv.calls)  # no detection calls


def test_failing_llm_leaves_the_centroid_unexplained_and_uncached(tiny_interp, llm_server):
    srv = llm_server(lambda p: (500, "down", 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01, retries=1)
    cid = biggest(tiny_interp)
    e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client))
    assert e.metadata["status"] == "failed" and e.confidence == 0.0 and "HTTP 500" in e.metadata["error"]
    assert not tiny_interp.cache.has(cid)


def test_unparseable_answer_is_a_failure(tiny_interp, llm_server):
    srv = llm_server(lambda p: (200, "I think it is about commas.", 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    e = asyncio.run(tiny_interp.get_or_generate_explanation(biggest(tiny_interp), llm_client=client))
    assert e.metadata["status"] == "failed" and not tiny_interp.cache.has(biggest(tiny_interp))


def test_detection_errors_never_become_scores(tiny_interp, llm_server):
    def handler(prompt):
        if is_detection(prompt):
            return 200, '{"1": 1, "2": 0}', 0  # too few labels
        return 200, '{"explanation": "Commas", "confidence": 0.5}', 0

    srv = llm_server(handler)
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    cid = biggest(tiny_interp)
    e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client))
    # The generated explanation is kept, but marked unscored with the reason: never a guessed score.
    assert e.explanation == "Commas" and e.status == "unscored" and not e.measured
    assert e.confidence == 0.0 and e.info.score.balanced_accuracy is None
    assert "detection scoring failed" in e.info.error and "labels" in e.info.error
    assert e.info.error_reason == "unreadable answer"
    assert tiny_interp.cache.get(cid).status == "unscored"
    assert tiny_interp.cache.get(cid).info.error_reason == "unreadable answer"  # kept on disk too


def test_explanation_cut_off_by_the_token_limit_keeps_what_was_written(tiny_interp, llm_server):
    srv = llm_server(lambda p: (200, '{"explanation": "Where a reader would pause and then go on and on', 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    e = asyncio.run(tiny_interp.get_or_generate_explanation(biggest(tiny_interp), llm_client=client))
    assert e.explanation == "Where a reader would pause and then go on and on"
    assert e.info.evidence["answer_cut_off"] is True


class SyncClient:
    def generate(self, prompt):
        return {"explanation": "Things near the end of sentences", "confidence": 0.93}


class AsyncClient:
    async def generate(self, prompt):
        return {"explanation": "Async label", "confidence": 0.2}


def test_documented_custom_clients_plug_in(tiny_interp):
    cid = biggest(tiny_interp)
    for client, text, stated in (
        (SyncClient(), "Things near the end of sentences", 0.93),
        (AsyncClient(), "Async label", 0.2),
    ):
        e = asyncio.run(tiny_interp.get_or_generate_explanation(cid, llm_client=client, force_regenerate=True))
        assert e.explanation == text and e.metadata["stated_confidence"] == stated
        # such a client cannot run detection, so the shown confidence is not its claim
        assert e.metadata["status"] == "unscored" and e.confidence == 0.0


def test_custom_client_that_raises_is_a_failure(tiny_interp):
    class Broken:
        def generate(self, prompt):
            raise TimeoutError("too slow")

    e = asyncio.run(tiny_interp.get_or_generate_explanation(biggest(tiny_interp), llm_client=Broken()))
    assert e.metadata["status"] == "failed" and "too slow" in e.metadata["error"]
