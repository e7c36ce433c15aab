"""The centroid space's own computations: back to the model's space, and the 2-D map."""

import torch

from autointerp.core.space import CentroidSpace, centroid_map


def test_in_model_space_is_the_inverse_of_the_normalisation():
    torch.manual_seed(0)
    c = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    center = torch.randn(8)
    space = CentroidSpace(c, center, "cosine")
    v = space.in_model_space(2, typical_norm=3.0)
    assert torch.allclose(v, center + 3.0 * c[2])
    assert torch.allclose(space.normalised(v[None])[0], c[2], atol=1e-6)  # normalising it gives the centroid back
    assert space.nearest(v[None]).first.item() == 2
    assert torch.allclose(space.in_model_space(2), center + c[2] * center.norm())  # no typical norm: the centre's
    raw = CentroidSpace(c, None, "none")
    assert torch.equal(raw.in_model_space(1, typical_norm=3.0), c[1])  # Euclidean centroids are already states


def test_centroid_map_is_deterministic_and_spreads_the_centroids():
    torch.manual_seed(1)
    c = torch.randn(6, 5)
    xy = centroid_map(c)
    assert xy.shape == (6, 2) and (xy == centroid_map(c.clone())).all()
    assert (centroid_map(-c) == xy).all()  # the sign is fixed, not the SVD's choice
    assert abs(xy[:, 0]).max() > 0 and centroid_map(c[:1]).tolist() == [[0.0, 0.0]]
