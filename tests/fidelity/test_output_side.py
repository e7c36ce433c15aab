"""The output side of centroids on a tiny random Llama: logit lens, TokenChange, records and the build."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from autointerp.fidelity.describe import MIN_CHANGE, NOTHING, describe, string_class
from autointerp.fidelity.output_side import (
    CentroidGeometry,
    ModelParts,
    OutputSide,
    TokenScore,
    logit_lens,
    sample_contexts,
    token_change,
)
from autointerp.fidelity.outputs import OutputSideSettings, compute_output_sides, load_output_side
from autointerp.workspace import Layout, Workspace


def _geometry(k: int = 6, d: int = 64, seed: int = 0) -> CentroidGeometry:
    g = torch.Generator().manual_seed(seed)
    c = torch.nn.functional.normalize(torch.randn(k, d, generator=g), dim=-1)
    return CentroidGeometry.of(c, torch.randn(d, generator=g), "cosine", 3.0)


def _contexts(n: int = 5, length: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.randint(2, 400, (n, length), generator=torch.Generator().manual_seed(seed))


def test_promoted_tokens_equal_an_independent_unembedding(tiny_model):
    geo = _geometry()
    probs, ids = logit_lens(tiny_model.ln_final._module, tiny_model.lm_head._module, geo.model_space(), k=5)
    hf = tiny_model._model
    with torch.no_grad():
        x = geo.centroids * 3.0 + geo.center  # centre + unit direction x the median centred norm
        ref = torch.softmax(hf.model.norm(x) @ hf.lm_head.weight.T, -1)
    top = torch.topk(ref, 5)
    assert torch.equal(ids, top.indices)
    assert torch.allclose(probs, top.values, atol=1e-6)


def test_token_change_equals_full_forward_passes_with_a_hook(tiny_model):
    """The cached, batched computation against one plain forward per delta over the whole context."""
    parts = ModelParts.of(tiny_model, 2, "layer_output")
    ctx, deltas = _contexts(), torch.randn(3, 64) * 4
    values, ids = token_change(parts, ctx, deltas, k=4, per_pass=2)
    hf = tiny_model._model
    with torch.no_grad():
        clean = torch.softmax(hf(ctx).logits[:, -1], -1)
        for i, delta in enumerate(deltas):

            def add(module, args, out, delta=delta):
                h = (out[0] if isinstance(out, tuple) else out).clone()
                h[:, -1] += delta
                return (h, *out[1:]) if isinstance(out, tuple) else h

            handle = hf.model.layers[2].register_forward_hook(add)
            try:
                steered = torch.softmax(hf(ctx).logits[:, -1], -1)
            finally:
                handle.remove()
            ref = torch.topk((steered - clean).mean(0), 4)
            assert torch.equal(ids[i], ref.indices)
            assert torch.allclose(values[i], ref.values, atol=1e-5)


def test_a_zero_direction_gives_no_token_change(tiny_model):
    parts = ModelParts.of(tiny_model, 1, "layer_output")
    values, _ = token_change(parts, _contexts(), torch.zeros(2, 64), k=5)
    assert float(values.abs().max()) < 1e-8  # float noise between batch shapes only
    sides = compute_output_sides(
        tiny_model, _geometry(), 1, "layer_output", _contexts(), OutputSideSettings(strength=0)
    )
    assert all(s.token_change == [] for s in sides)
    assert all(s.description.startswith(NOTHING) for s in sides)
    assert all(len(s.promoted) == 10 for s in sides)  # the logit lens does not depend on the push


def test_a_real_push_gives_rising_tokens_and_a_description(tiny_model):
    sides = compute_output_sides(
        tiny_model, _geometry(), 2, "layer_output", _contexts(), OutputSideSettings(strength=8)
    )
    assert len(sides) == 6 and [s.centroid_id for s in sides] == list(range(6))
    for s in sides:
        assert s.token_change and all(t.value > 0 for t in s.token_change)
        assert [t.value for t in s.token_change] == sorted((t.value for t in s.token_change), reverse=True)
        assert s.alpha == pytest.approx(8 * 3.0) and s.contexts == 5
        moved = s.token_change[0].value >= MIN_CHANGE  # a random model moves little: either text is honest
        assert s.description.startswith("promotes " if moved else NOTHING)


def test_records_round_trip_through_json():
    side = OutputSide(3, [TokenScore(" of", 12, 0.25)], [TokenScore('"', 7, 0.031)], "promotes ' of'", 140.0, 32, "m")
    assert OutputSide.from_dict(json.loads(json.dumps(side.to_dict()))) == side


def test_contexts_are_full_windows_after_the_sink():
    w = np.array([[5, 6, 7, 8], [9, 10, -1, -1], [11, 12, 13, 14]], dtype=np.int32)
    ctx = sample_contexts(w, sink=0, n=5, length=3)
    assert ctx.tolist() == [[0, 5, 6, 7], [0, 11, 12, 13]]  # the short window is left out
    assert sample_contexts(w, sink=None, n=5, length=9).numel() == 0


def test_description_groups_tokens_by_class():
    toks = [
        TokenScore(" of", 1, 0.2),
        TokenScore('"', 2, 0.05),
        TokenScore(" 1984", 3, 0.04),
        TokenScore(" 2001", 4, 0.03),
    ]
    text = describe(toks, {})
    assert text == "promotes ' of' / years (' 1984', ' 2001') / '\"'"
    assert string_class("ing") == "word pieces" and string_class(")") == "closing brackets"
    assert describe([TokenScore(" a", 1, 0.001)], {}).startswith(NOTHING)


def test_every_centroid_of_a_fresh_build_carries_its_output_side(tiny_workspace):
    ws = Workspace.open(tiny_workspace)
    folder = Layout(tiny_workspace).output_side
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"centroid_{c}.json" for c in range(ws.config.k))
    for c in range(ws.config.k):
        side = ws.output_side(c)
        assert side is not None and side.centroid_id == c
        assert len(side.promoted) == 10 and side.contexts > 0 and side.description
        assert side.alpha == pytest.approx(float(ws.info.median_centered_norm))
    assert ws.build["output_side_s"] >= 0
    assert load_output_side(folder, ws.config.k) is None  # no such centroid: no record


def test_whole_words_are_classed_by_spacy_when_installed():
    from autointerp.data.linguistic import load_tagger
    from autointerp.fidelity.describe import word_classes

    loaded = load_tagger()
    if loaded is None:
        pytest.skip("spaCy's English pipeline is not installed")
    classes = word_classes([" years", " of", " quickly"], loaded[0])
    assert classes == {" years": "plural nouns", " of": "prepositions", " quickly": "adverbs"}
    assert word_classes([" Paris", " cat"]) == {" Paris": "capitalised words", " cat": "lowercase words"}


def test_the_browser_shows_the_same_promoted_tokens_as_the_build_stored(tiny_interp):
    from autointerp.ui.browse import centroid_details, token_change_bars

    d = centroid_details(tiny_interp, 2)
    assert d.output is not None and d.output == Workspace.open(tiny_interp.workspace.path).output_side(2)
    assert [t for t, _ in d.logit_lens] == [t.token for t in d.output.promoted]
    assert [p for _, p in d.logit_lens] == pytest.approx([t.value for t in d.output.promoted], abs=1e-5)
    assert token_change_bars(d.output) == [(t.token, round(100 * t.value, 3)) for t in d.output.token_change]
