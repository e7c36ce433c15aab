import numpy as np
import torch

from autointerp.core.index import TokenRecords, ValidationIndex, activation_from_distance
from autointerp.core.search import nearest_two


def make_index(n=5000, k=16, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, c = torch.randn(n, d, generator=g), torch.randn(k, d, generator=g)
    near = nearest_two(x, c)
    rec = TokenRecords.from_batch(
        near, torch.arange(n) // 10, torch.arange(n) % 10, torch.arange(n) % 50, x.norm(dim=1)
    )
    return ValidationIndex(rec, k), x, c


def test_top_k_equals_brute_force_members():
    idx, x, c = make_index()
    d = torch.cdist(x, c)
    assign = d.argmin(1)
    for cid in range(16):
        members = (assign == cid).nonzero().flatten()
        brute = members[d[members, cid].argsort()][:10].numpy()
        assert np.array_equal(idx.members(cid, 10), brute)
    assert idx.counts.sum() == len(x)


def test_save_load_round_trip(tmp_path):
    idx, _, _ = make_index()
    idx.save(tmp_path / "i")
    back = ValidationIndex.load(tmp_path / "i", 16)
    assert np.array_equal(back.members(3), idx.members(3))


def test_banded_members_cover_core_to_edge():
    idx, _, _ = make_index()
    bands = idx.banded_members(2, per_band=5, bands=4)
    dist = np.asarray(idx.records.dist)
    assert len(bands) == 4
    assert dist[bands[0]].max() <= dist[bands[-1]].min()


def test_activation_larger_is_stronger():
    d = np.array([0.1, 0.5, 1.0], dtype=np.float32)
    for mode in ("cosine", "none"):
        a = activation_from_distance(d, mode)
        assert a[0] > a[1] > a[2]
    assert np.allclose(activation_from_distance(np.float32(0.0), "cosine"), 1.0)
