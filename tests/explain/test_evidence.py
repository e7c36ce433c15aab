"""Evidence sampling: the same tokens and features whether or not their contexts are drawn."""

import asyncio


def test_evidence_without_contexts_holds_the_same_tokens_and_features(tiny_interp):
    sampler = tiny_interp.validation.sampler
    cid = max(range(tiny_interp.num_centroids), key=lambda c: len(tiny_interp.validation.index.members(c)))
    full, lean = sampler.evidence(cid), sampler.evidence(cid, context=False)
    pairs = [
        (a, b)
        for x, y in ((full.members, lean.members), (full.contrast, lean.contrast), (full.background, lean.background))
        for a, b in zip(x, y, strict=True)
    ]
    assert pairs and all(a.token == b.token and a.features == b.features for a, b in pairs)
    assert all("<<" in a.context and b.context == "" for a, b in pairs)
    held = tiny_interp.heldout.sampler
    assert [t.features for t in held.scoring_set(cid).positives] == [
        t.features for t in held.scoring_set(cid, context=False).positives
    ]


def test_the_offline_explainer_gets_the_same_label_without_contexts(tiny_interp):
    from autointerp.explain.explainers.offline import OfflineExplainer

    ex = OfflineExplainer()
    assert ex.reads_context is False
    sampler = tiny_interp.validation.sampler
    for cid in range(tiny_interp.num_centroids):
        a = asyncio.run(ex.explain(sampler.evidence(cid)))
        b = asyncio.run(ex.explain(sampler.evidence(cid, context=False)))
        assert (a.explanation, a.rule) == (b.explanation, b.rule)
