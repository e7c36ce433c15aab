"""The local engine's training shards: centred and normalised in place, with the same result as copying."""

import torch

from autointerp.build.engine import TrainShards
from autointerp.core import search as core_search


def test_in_place_preparation_equals_the_reference():
    torch.manual_seed(0)
    raw = torch.randn(500, 16)
    raw[:5] *= 50  # outliers, cut by the threshold
    for mode in ("cosine", "none"):
        shards = TrainShards(raw.clone(), torch.device("cpu"))
        threshold = 8 * float(shards.norms.median())
        n_kept, center = shards.prepare(threshold, mode)
        kept = raw[raw.norm(dim=1) <= threshold]
        ref_center = kept.mean(0) if mode == "cosine" else None
        x, centred_norms = core_search.centre_and_normalise(kept, ref_center, mode)
        assert n_kept == len(kept) == 495
        assert torch.equal(shards.x, x)
        assert shards.median_centered_norm() == float(centred_norms.median())
        assert (center is None) == (mode == "none") and (center is None or torch.equal(center, ref_center))


def test_compacting_in_place_keeps_the_kept_rows_in_order():
    from autointerp.build.engine import _compact  # the in-place helper itself is under test

    torch.manual_seed(1)
    for n, p in ((10, 0.5), (1000, 0.99), (1000, 0.01), (5, 1.0)):
        x = torch.randn(n, 3)
        keep = torch.rand(n) < p
        expected = x[keep].clone()
        got = _compact(x, keep, chunk=7)  # small chunks: many boundaries
        assert torch.equal(got, expected)
        assert got.data_ptr() == x.data_ptr()  # the same storage: no copy of the kept rows
