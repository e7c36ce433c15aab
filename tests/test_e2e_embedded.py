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


def test_offline_confidences_are_measured_and_spread(real_interp):
    exps = [asyncio.run(real_interp.get_or_generate_explanation(c)) for c in range(real_interp.num_centroids)]
    confs = [e.confidence for e in exps]
    assert all(e.metadata["status"] in ("scored", "insufficient-data") for e in exps)
    assert max(confs) - min(confs) > 0.4
    for e in exps:
        s = e.metadata["score"]
        if e.metadata["status"] == "scored":
            assert s["n_pos"] > 0 and s["ci_low"] <= s["balanced_accuracy"] <= s["ci_high"]


def test_right_explanation_scores_high_and_a_wrong_one_near_chance(real_interp):
    from autointerp.explain.explainers.contract import Rule
    from autointerp.explain.scorers.exact import RuleScorer

    exps = {c: asyncio.run(real_interp.get_or_generate_explanation(c)) for c in range(real_interp.num_centroids)}
    best = max(exps.values(), key=lambda e: e.confidence)
    sampler = real_interp.heldout.sampler
    data = sampler.scoring_set(best.centroid_id)
    from autointerp.explain.explainers.contract import ExplanationDraft

    right = Rule.from_json(best.metadata["evidence"]["rule"])
    scores = []
    for other in exps.values():
        rule = Rule.from_json(other.metadata["evidence"]["rule"])
        if other.centroid_id == best.centroid_id or rule.to_json() == right.to_json():
            continue
        scores.append(asyncio.run(RuleScorer().score(ExplanationDraft("x", "t", rule), data)).balanced_accuracy)
    own = asyncio.run(RuleScorer().score(ExplanationDraft("x", "t", right), data)).balanced_accuracy
    assert own >= 0.85
    assert sorted(scores)[len(scores) // 2] <= 0.6  # the typical wrong explanation is near chance


def test_embedded_model_chooses_labels_through_the_user_path(real_interp):
    from autointerp.explain.explainers.local_lm import LocalLabelChooser

    chooser = LocalLabelChooser(real_interp.model)
    rows = asyncio.run(real_interp.analyze_sentence(SENTENCE, llm_client=chooser))
    cid = rows[-1]["centroid_id"]
    e = asyncio.run(real_interp.get_or_generate_explanation(cid, llm_client=chooser, force_regenerate=True))
    assert e.metadata["explainer"] == "local-lm-choice" and e.metadata["status"] == "scored"
    cands = e.metadata["evidence"]["candidates"]
    assert len(cands) >= 2 and len({c["label"] for c in cands}) == len(cands)
    best = max(cands, key=lambda c: c["calibrated_logprob"])
    assert e.explanation.startswith(best["label"])
