"""The local engine's training shards: centred and normalised in place, with the same result as copying."""

import torch

from autointerp.build import kmeans
from autointerp.build.engine import TrainShards


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
        x, centred_norms = kmeans.centre_and_normalise(kept, ref_center, mode)
        assert n_kept == len(kept) == 495
        assert torch.equal(shards.x, x)
        assert shards.median_centered_norm() == float(centred_norms.median())
        assert (center is None) == (mode == "none") and (center is None or torch.equal(center, ref_center))
