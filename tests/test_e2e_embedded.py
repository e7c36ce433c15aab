"""End to end on the real embedded SmolLM2-135M and the embedded Wikipedia sample."""

import asyncio

import pytest

from autointerp import KMeansAutoInterp

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="module")
def real_interp(real_workspace):
    return KMeansAutoInterp.from_workspace(real_workspace)


def test_analyze_real_sentence(real_interp):
    rows = asyncio.run(real_interp.analyze_sentence(SENTENCE))
    assert "".join(r["token_str"] for r in rows) == SENTENCE
    assert len(rows) == 10
    assert all(r["explanation"] and 0 <= r["confidence"] <= 1 for r in rows)
    assert len({r["confidence"] for r in rows}) > 1
    period = rows[-1]
    assert period["token_str"] == "."
    assert "unctuation" in period["explanation"] and period["confidence"] > 0.5
    the = [r for r in rows if r["token_str"].strip().lower() == "the"]
    assert the[0]["centroid_id"] == the[1]["centroid_id"] or the[0]["margin"] < 0.2


def test_meta_interpretation_is_grounded(real_interp):
    text = asyncio.run(real_interp.interpret_with_meta_model(SENTENCE))
    rows = asyncio.run(real_interp.analyze_sentence(SENTENCE))
    for r in rows:
        assert f"centroid {r['centroid_id']}" in text
    assert "confidence" in text
