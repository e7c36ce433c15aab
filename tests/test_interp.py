import asyncio
from dataclasses import astuple

import numpy as np
import pytest
import torch

from autointerp import CentroidExplanation, KMeansAutoInterp, ValidationExample
from autointerp.core.activations import iter_activations
from autointerp.errors import InputError


def run(coro):
    return asyncio.run(coro)


def test_exposes_documented_attributes(tiny_interp):
    assert tiny_interp.num_centroids == 8
    assert tiny_interp.hidden_dim == 64
    assert tiny_interp.layer_idx == 2
    assert tiny_interp.cache.cache_dir.exists()


def test_assign_tokens_keeps_shape_and_matches_nearest(tiny_interp):
    acts = torch.randn(3, 5, 64)
    ids = tiny_interp.assign_tokens_to_centroids(acts)
    assert ids.shape == (3, 5) and ids.dtype == torch.long
    x = torch.nn.functional.normalize(acts.reshape(-1, 64) - tiny_interp.center, dim=-1)
    assert torch.equal(ids.flatten(), torch.cdist(x, tiny_interp.centroids).argmin(1))


@pytest.mark.parametrize("bad", [torch.randn(4, 63), torch.tensor([[float("nan")] * 64])])
def test_assign_rejects_bad_activations(tiny_interp, bad):
    with pytest.raises(InputError):
        tiny_interp.assign_tokens_to_centroids(bad)


def test_top_k_examples_strongest_first(tiny_interp):
    counts = tiny_interp.validation.index.counts
    cid = int(np.argmax(counts))
    ex = tiny_interp.get_top_k_validation_examples(cid, k=5)
    assert len(ex) == 5 and all(isinstance(e, ValidationExample) for e in ex)
    acts = [e.activation for e in ex]
    assert acts == sorted(acts, reverse=True)
    for e in ex:
        assert e.text == "".join(e.token_strings) and 0 <= e.token_position < len(e.tokens)
        # the activation reported equals a fresh computation for that token in that context
        fresh = next(iter_activations(tiny_interp.model, [e.tokens], *astuple(tiny_interp.analyzer.site)))
        near = tiny_interp.space.nearest(fresh.acts[e.token_position : e.token_position + 1])
        assert int(near.first[0]) == cid
        assert float(tiny_interp.space.activation(near.dist)[0]) == pytest.approx(e.activation, abs=1e-4)
    with pytest.raises(InputError, match="out of range"):
        tiny_interp.get_top_k_validation_examples(8)
    with pytest.raises(InputError, match="out of range"):
        tiny_interp.get_top_k_validation_examples(-1)


def test_analyze_sentence_rows_and_consistent_activation(tiny_interp):
    rows = run(tiny_interp.analyze_sentence("The cat sat on the mat."))
    keys = {
        "position",
        "token_id",
        "token_str",
        "centroid_id",
        "explanation",
        "confidence",
        "activation",
        "distance",
        "margin",
        "runner_up_id",
    }
    assert rows and keys <= set(rows[0])
    assert "".join(r["token_str"] for r in rows) == "The cat sat on the mat."
    for r in rows:
        assert 0 <= r["centroid_id"] < 8 and r["runner_up_id"] != r["centroid_id"]
        assert r["margin"] >= 0 and 0.0 <= r["confidence"] <= 1.0
        assert r["activation"] == pytest.approx(1 - r["distance"] ** 2 / 2, abs=1e-5)
        assert r["explanation"]
    # explanations were cached lazily, one file per centroid used
    used = {r["centroid_id"] for r in rows}
    assert set(tiny_interp.cache.ids()) == used


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_sentence_is_a_clear_error(tiny_interp, text):
    with pytest.raises(InputError, match="empty"):
        run(tiny_interp.analyze_sentence(text))


def test_long_text_is_truncated_with_notice(tiny_interp):
    text = "The cat sat on the mat. " * 200
    a = run(tiny_interp.analyze(text, explain=False))
    assert a.truncated and len(a.rows) == tiny_interp.max_tokens < a.n_input_tokens
    assert "only the first" in a.notice


def test_width_mismatch_and_nan_centroids(tiny_model, tmp_path):
    with pytest.raises(InputError, match="hidden size is 64"):
        KMeansAutoInterp(tmp_path, tiny_model, torch.randn(4, 32), layer_idx=1)
    bad = torch.randn(4, 64)
    bad[2, 5] = float("inf")
    with pytest.raises(InputError, match="NaN or Inf"):
        KMeansAutoInterp(tmp_path, tiny_model, bad, layer_idx=1)
    with pytest.raises(InputError, match="unknown activation_type"):
        KMeansAutoInterp(tmp_path, tiny_model, torch.randn(4, 64), layer_idx=1, activation_type="resid")
    with pytest.raises(InputError, match="out of range"):
        KMeansAutoInterp(tmp_path, tiny_model, torch.randn(4, 64), layer_idx=9)


def test_raw_validation_activations_path(tiny_model, tmp_path):
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(2, 300, (20, 16), generator=g)
    from autointerp.core.activations import layer_activations

    acts = layer_activations(tiny_model, tokens, torch.ones_like(tokens), 1, "mlp_output").float()
    centroids = acts.reshape(-1, 64)[torch.randperm(320, generator=g)[:6]]
    ai = KMeansAutoInterp(tmp_path, tiny_model, centroids, acts, tokens, layer_idx=1, activation_type="mlp_output")
    assert len(ai.validation.index) == 14 * 16 and len(ai.heldout.index) == 6 * 16
    cid = int(np.argmax(ai.validation.index.counts))
    ex = ai.get_top_k_validation_examples(cid, 3)
    assert ex[0].activation >= ex[-1].activation
    with pytest.raises(InputError, match="validation_tokens"):
        KMeansAutoInterp(tmp_path, tiny_model, centroids, acts, tokens[:, :5], layer_idx=1)
    with pytest.raises(InputError, match="validation_activations"):
        KMeansAutoInterp(tmp_path, tiny_model, centroids, acts[0], tokens, layer_idx=1)


def test_get_or_generate_is_lazy_cached_and_forced(tiny_interp):
    cid = int(np.argmax(tiny_interp.validation.index.counts))
    first = run(tiny_interp.get_or_generate_explanation(cid))
    assert isinstance(first, CentroidExplanation) and tiny_interp.cache.has(cid)
    assert first.metadata["status"] == "scored" and "score" in first.metadata
    tiny_interp.cache.set(CentroidExplanation(cid, "edited", 0.5, [], metadata={**first.metadata}))
    assert run(tiny_interp.get_or_generate_explanation(cid)).explanation == "edited"
    forced = run(tiny_interp.get_or_generate_explanation(cid, force_regenerate=True))
    assert forced.explanation == first.explanation


def test_stale_entry_is_regenerated(tiny_interp):
    cid = int(np.argmax(tiny_interp.validation.index.counts))
    e = run(tiny_interp.get_or_generate_explanation(cid))
    tiny_interp.cache.set(CentroidExplanation(cid, "old", 0.9, [], metadata={**e.metadata, "centroid_hash": "x"}))
    cached = tiny_interp.cache.get(cid)
    assert any("centroid_hash" in r for r in tiny_interp.stale_reasons(cached))
    assert run(tiny_interp.get_or_generate_explanation(cid)).explanation == e.explanation
