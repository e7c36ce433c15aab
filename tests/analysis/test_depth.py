"""Depth analysis: one forward pass for every layer, and depth facts that are only assignments and
measured labels."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from autointerp.analysis.depth import DepthAnalysis, depth_text, kind_shares, label_kind, layer_explanations, regroups
from autointerp.analysis.sentence import SentenceAnalysis
from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.records import CentroidExplanation, ExplanationInfo, SentenceRow, Status
from autointerp.stack.folder import Stack

SENTENCE = "Paris and London are large cities."


@pytest.fixture()
def stack_interp(tiny_stack, tiny_model):
    from autointerp.stack_interp import StackInterp

    return StackInterp.open(tiny_stack, model=tiny_model)


def test_one_forward_pass_gives_every_layer_the_single_layer_rows(stack_interp, monkeypatch):
    model = stack_interp.depth.model
    traces = []
    real = type(model).trace

    def counting(self, *a, **kw):
        traces.append(1)
        return real(self, *a, **kw)

    monkeypatch.setattr(type(model), "trace", counting)
    depth = asyncio.run(stack_interp.analyze(SENTENCE))
    assert len(traces) == 1  # one forward for three layers
    monkeypatch.undo()
    assert depth.layers == [1, 2, 3]
    for layer in depth.layers:
        single = asyncio.run(stack_interp.interps[layer].analyze(SENTENCE))
        got = depth.per_layer[layer].rows
        assert [r.centroid_id for r in got] == [r.centroid_id for r in single.rows]
        assert [r.explanation for r in got] == [r.explanation for r in single.rows]
        assert all(abs(a.activation - b.activation) < 1e-4 for a, b in zip(got, single.rows, strict=True))
    for row in depth.rows:
        for cell in row.by_layer:
            r = depth.per_layer[cell.layer].rows[row.position]
            assert cell.confidence == (round(r.confidence, 4) if r.measured else None)


def _expl(cid: int, rule: list[list[str]] | None, conf: float = 0.9, status: Status = Status.SCORED):
    return CentroidExplanation(cid, f"label {cid}", conf, info=ExplanationInfo(status=status, rule=rule))


def _analysis(tokens: list[str], cids: list[int], expl: dict[int, CentroidExplanation]) -> SentenceAnalysis:
    rows = []
    for i, (t, c) in enumerate(zip(tokens, cids, strict=True)):
        e = expl[c]
        rows.append(SentenceRow(i, i, t, c, e.explanation, e.confidence, 0.5, 0.1, 0.1, c, 1.0, status=e.status))
    return SentenceAnalysis(rows, len(rows), explanations=expl)


def test_label_kinds_come_from_the_scored_rule():
    assert label_kind(_expl(0, [["tok:the"], ["tok:a"]])) == "token identity"
    assert label_kind(_expl(0, [["tok:the", "prev:of"]])) == "token identity"
    assert label_kind(_expl(0, [["pos:NOUN"]])) == "word class"
    assert label_kind(_expl(0, [["class:determiner", "prev:of"]])) == "word class"
    assert label_kind(_expl(0, [["ent:GPE"]])) == "concept"
    assert label_kind(_expl(0, [["lex:noun.animal"], ["syn:living_thing.n.01"]])) == "concept"
    assert label_kind(_expl(0, [["pos:ADJ", "attr:size.n.01"]])) == "concept"  # word class AND concept
    assert label_kind(_expl(0, [["prev:the"]])) == "context"
    assert label_kind(_expl(0, None)) == "free text"


def test_kind_shares_count_only_confident_measured_labels():
    expl = {
        0: _expl(0, [["ent:GPE"]]),
        1: _expl(1, [["tok:and"]]),
        2: _expl(2, [["pos:ADJ"]], conf=0.1),  # uncertain: not counted
        3: _expl(3, [["pos:NOUN"]], status=Status.INSUFFICIENT_DATA),  # not measured: not counted
        4: _expl(4, [["pos:PROPN"]]),
        5: _expl(5, [["pos:CCONJ"]]),
    }
    toks = ["Paris", " and", " London", " large"]
    depth = DepthAnalysis([3, 6], {3: _analysis(toks, [0, 1, 0, 2], expl), 6: _analysis(toks, [4, 5, 4, 3], expl)})
    s3, s6 = kind_shares(depth)
    assert (s3.counts, s3.counted, s3.total) == ({"concept": 2, "token identity": 1}, 3, 4)
    assert (s6.counts, s6.counted) == ({"word class": 3}, 3)
    text = depth_text(depth)
    assert "layer 3: token identity 1 (33%), concept 2 (67%); 1 of 4 tokens not counted" in text
    assert "From layer 3 to layer 6: token identity 33% → 0%; word class 0% → 100%; concept 67% → 0%." in text


def test_splits_and_merges_between_adjacent_layers():
    expl = {c: _expl(c, [["tok:x"]]) for c in range(10)}
    toks = ["fox", " dog", " the", " The"]
    depth = DepthAnalysis(
        [3, 6, 9],
        {
            3: _analysis(toks, [1, 1, 2, 3], expl),  # fox and dog together; the / The apart
            6: _analysis(toks, [4, 5, 6, 6], expl),  # fox/dog split; the/The merge
            9: _analysis(toks, [7, 7, 8, 8], expl),  # fox/dog merge again; the/The stay together
        },
    )
    got = [(g.kind, g.source, g.target, g.centroid, [m[0] for m in g.members]) for g in regroups(depth)]
    assert got == [
        ("split", 3, 6, 1, [0, 1]),  # layer step first, then position
        ("merge", 3, 6, 6, [2, 3]),
        ("merge", 6, 9, 7, [0, 1]),
    ]
    text = depth_text(depth)
    assert "layer 3 → 6: 'fox', 'dog' share centroid 1, then split: c4 ('fox'), c5 ('dog')" in text
    assert "layer 3 → 6: c2 ('the'), c3 ('The') merge into centroid 6" in text and "merge into centroid 7" in text
    assert "No shared centroid splits apart" not in text


def test_depth_text_on_a_real_stack_mentions_every_layer(stack_interp):
    depth = asyncio.run(stack_interp.analyze(SENTENCE))
    text = depth_text(depth)
    for layer in depth.layers:
        assert f"layer {layer}:" in text
    groups = regroups(depth)
    for g in groups:  # every reported split/merge is true of the assignments
        side = g.source if g.kind == "split" else g.target
        other = g.target if g.kind == "split" else g.source
        rows, across = depth.per_layer[side].rows, depth.per_layer[other].rows
        assert {rows[p].centroid_id for p, _, _ in g.members} == {g.centroid}
        assert len({across[p].centroid_id for p, _, _ in g.members}) > 1


def test_layer_explanations_read_that_layers_cache_and_leave_out_the_unexplained(tiny_stack, tmp_path):
    shutil.copytree(tiny_stack.parent, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    stack = Stack.open(tmp_path / "ws" / tiny_stack.name)
    e = CentroidExplanation(1, "Articles", 0.8, ["the cat"], "2026-01-01T00:00:00", {})
    CentroidExplanationCache(stack.workspaces[2].explanations_dir).set(e)
    assert layer_explanations(stack, 2, [0, 1, 2]) == {1: e}
    assert 1 not in layer_explanations(stack, 3, [1])  # another layer's cache is its own
