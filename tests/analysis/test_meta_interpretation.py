import asyncio
import json

from autointerp.analysis.meta_interpretation import grounded_facts, interpret
from autointerp.analysis.sentence import SentenceAnalysis
from autointerp.constants import LOW_CONFIDENCE
from autointerp.explain.clients import OpenAICompatibleClient
from autointerp.records import CentroidExplanation, SentenceRow, Status


def analysis(interp, text="The cat sat on the mat. If it rains, we stay."):
    return asyncio.run(interp.analyze(text))


def test_offline_meta_cites_every_centroid_and_hedges_low_confidence(tiny_interp):
    a = analysis(tiny_interp)
    text = asyncio.run(interp_offline(a))
    facts = grounded_facts(a)
    assert facts and all(f.confidence is not None for f in facts)  # offline rules are always measured
    for f in facts:
        assert f"centroid {f.centroid_id}" in text
        assert f"{f.confidence:.2f}" in text
    low = [f for f in facts if f.confidence < LOW_CONFIDENCE]
    if low:
        assert "UNCERTAIN" in text
        section = text.split("UNCERTAIN", 1)[1]
        assert all(f"centroid {f.centroid_id}" in section for f in low)


async def interp_offline(a):
    return await interpret(a, None)


def test_llm_meta_claims_are_checked_against_the_grounded_facts(tiny_interp, llm_server):
    a = analysis(tiny_interp)
    facts = {f.centroid_id: f for f in grounded_facts(a)}
    real = sorted(facts)[0]
    answer = {
        "claims": [
            {"text": "The model groups punctuation.", "centroid_ids": [real, 999]},
            {"text": "An invented centroid.", "centroid_ids": [999]},
        ]
    }
    srv = llm_server(lambda p: (200, json.dumps(answer), 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    out = asyncio.run(interpret(a, client))
    # shown with the measured confidence, not the LLM's; the claim citing no real centroid is left out
    first = out.splitlines()[0]
    assert first.startswith(f"- The model groups punctuation. [centroid {real}: ") and "999" not in out
    assert f"{facts[real].confidence:.2f}" in first
    assert "invented" not in out and "1 claim(s) citing no centroid" in out
    body = srv.calls[-1]["body"]
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["claims"]
    sent = json.loads(body["messages"][0]["content"].split("FACTS (JSON):\n", 1)[1])
    assert {f["centroid_id"] for f in sent} == {r.centroid_id for r in a.rows}


def test_llm_meta_in_prose_is_shown_and_marked_unchecked(tiny_interp, llm_server):
    srv = llm_server(lambda p: (200, "The model groups punctuation (centroid 1, 0.90).", 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    out = asyncio.run(interpret(analysis(tiny_interp), client))
    assert out.startswith("The model groups punctuation (centroid 1, 0.90).") and "none was checked" in out


def test_llm_meta_cut_off_falls_back_to_the_offline_summary(tiny_interp, llm_server):
    srv = llm_server(lambda p: (200, '{"claims": [{"text": "The model gro', 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01)
    out = asyncio.run(interpret(analysis(tiny_interp), client))
    assert "offline" in out and "cut off JSON" in out


def test_failing_llm_falls_back_to_the_offline_summary(tiny_interp, llm_server):
    srv = llm_server(lambda p: (503, "busy", 0))
    client = OpenAICompatibleClient("m", base_url=f"{srv.url}/v1", backoff=0.01, retries=1)
    out = asyncio.run(interpret(analysis(tiny_interp), client))
    assert "offline" in out and "centroid" in out


def row(i, tok, cid, conf, status=Status.SCORED):
    return SentenceRow(i, 0, tok, cid, f"e{cid}", conf, 0.5, 0.1, 0.1, 0, 1.0, [], status)


def test_groups_follow_word_and_character_class():
    rows = [row(0, "The", 1, 0.9), row(1, " cat", 2, 0.8), row(2, " over", 3, 0.9), row(3, ".", 4, 0.9)]
    exps = {
        3: CentroidExplanation(3, "e3", 0.9, [], metadata={"evidence": {"rule": [["tok:over"], ["tok:under"]]}}),
        4: CentroidExplanation(4, "e4", 0.9, [], metadata={"evidence": {"rule": [["shape:sentence_end"]]}}),
    }
    facts = {f.centroid_id: f.group for f in grounded_facts(SentenceAnalysis(rows, 4, explanations=exps))}
    assert facts == {1: "function", 2: "content", 3: "function", 4: "structure"}


def test_unmeasured_explanations_are_never_listed_as_low_confidence():
    rows = [row(0, " fox", 1, 0.0, Status.UNSCORED), row(1, " ran", 2, 0.2), row(2, ".", 3, 0.9)]
    text = asyncio.run(interpret(SentenceAnalysis(rows, 3)))
    uncertain = text.split("UNCERTAIN", 1)[1].split("NOT MEASURED", 1)[0]
    assert "centroid 2" in uncertain and "centroid 1" not in uncertain
    assert "centroid 1" in text.split("NOT MEASURED", 1)[1]
    assert "0.00" not in text


def test_tokens_are_grouped_by_the_meaning_their_labels_name():
    rows = [row(0, " fox", 15, 0.62), row(1, " dog", 40, 0.55), row(2, " ran", 3, 0.7), row(3, " the", 4, 0.9)]
    living = {"evidence": {"rule": [["syn:living_thing.n.01"]]}}
    exps = {
        15: CentroidExplanation(15, "e15", 0.62, [], metadata=living),
        40: CentroidExplanation(40, "e40", 0.55, [], metadata=living),
        3: CentroidExplanation(3, "e3", 0.7, [], metadata={"evidence": {"rule": [["pos:VERB", "lex:verb.motion"]]}}),
        4: CentroidExplanation(4, "e4", 0.9, [], metadata={"evidence": {"rule": [["class:determiner"]]}}),
    }
    a = SentenceAnalysis(rows, 4, explanations=exps)
    assert {f.centroid_id: f.meaning for f in grounded_facts(a)} == {
        15: "Living things",
        40: "Living things",
        3: "Verbs of motion",
        4: None,
    }
    content = asyncio.run(interpret(a)).split("CONTENT AND SEMANTIC CATEGORIES", 1)[1]
    assert "'fox', 'dog' → Living things (centroid 15, 0.62 confidence; centroid 40, 0.55 confidence)" in content
    assert "'ran' → Verbs of motion (centroid 3, 0.70 confidence)" in content and "centroid 4," not in content


def test_a_human_edit_is_quoted_as_written_not_as_the_concept_it_was_read_as():
    rows = [
        SentenceRow(0, 0, " fox", 15, "Animals and other living things", 0.57, 0.5, 0.1, 0.1, 0, 1.0, [], Status.SCORED)
    ]
    edited = {"evidence": {"rule": [["lex:noun.animal"], ["syn:living_thing.n.01"]]}, "human_edited": True}
    exps = {15: CentroidExplanation(15, "Animals and other living things", 0.57, [], metadata=edited)}
    text = asyncio.run(interpret(SentenceAnalysis(rows, 1, explanations=exps)))
    assert '"Animals and other living things"' in text and "Animals or living things" not in text


def test_repeated_tokens_are_counted_once_and_long_lists_say_they_are_cut():
    words = [" over"] * 450 + [" a", " b", " c", " d", " e", " f", " g"]
    rows = [row(i, w, 7, 0.9) for i, w in enumerate(words)]
    text = asyncio.run(interpret(SentenceAnalysis(rows, len(rows))))
    assert "'over' ×450, 'a', 'b', 'c', 'd', 'e', …" in text and "'over', 'over'" not in text
