import torch

from autointerp.build.kmeans import assign, fit_kmeans, kmeans_plus_plus, nearest_two, normalise


def blobs(k=6, per=200, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(k, d, generator=g) * 10
    x = torch.cat([c + torch.randn(per, d, generator=g) for c in centers])
    labels = torch.arange(k).repeat_interleave(per)
    return x, labels, centers


def test_recovers_separated_blobs():
    x, labels, _ = blobs()
    r = fit_kmeans(x, 6, iters=30, seed=1)
    # every true blob maps to exactly one cluster
    for j in range(6):
        assert len(set(r.labels[labels == j].tolist())) == 1
    assert len(set(r.labels.tolist())) == 6
    assert r.counts.sum() == len(x)


def test_fixed_seed_is_deterministic_and_seed_matters():
    x, _, _ = blobs(seed=3)
    a = fit_kmeans(x, 8, iters=5, seed=0)
    b = fit_kmeans(x, 8, iters=5, seed=0)
    assert torch.equal(a.centroids, b.centroids)


def test_empty_clusters_are_reseeded():
    x, _, _ = blobs(k=2, per=50)
    init = torch.cat([x[:2], torch.full((3, x.shape[1]), 1e4)])  # three seeds far from all data
    r = fit_kmeans(x, 5, iters=10, init=init)
    assert r.reseeded >= 3
    assert (r.counts > 0).all()


def test_kmeans_pp_spreads_seeds_over_blobs():
    x, labels, _ = blobs(k=5, per=100)
    c = kmeans_plus_plus(x, 5, torch.Generator().manual_seed(0))
    near = nearest_two(c, blobs(k=5, per=100)[2]).first
    assert len(set(near.tolist())) == 5


def test_nearest_two_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(3000, 12, generator=g), torch.randn(20, 12, generator=g)
    n = nearest_two(x, c, chunk=257)
    d = torch.cdist(x, c)
    vals, idx = d.topk(2, largest=False)
    assert torch.equal(n.first, idx[:, 0]) and torch.equal(n.second, idx[:, 1])
    assert torch.allclose(n.dist, vals[:, 0], atol=1e-3) and (n.margin >= 0).all()


def test_spherical_centroids_are_unit_and_cosine_normalisation():
    x, _, _ = blobs()
    xs = normalise(x, x.mean(0), "cosine")
    assert torch.allclose(xs.norm(dim=1), torch.ones(len(xs)), atol=1e-5)
    r = fit_kmeans(xs, 6, iters=10, spherical=True)
    assert torch.allclose(r.centroids.norm(dim=1), torch.ones(6), atol=1e-5)
    assert torch.equal(normalise(x, None, "none"), x)


def test_bf16_rerank_matches_float32_search():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(40, 64, generator=g)
    x = torch.nn.functional.normalize(
        base[torch.randint(0, 40, (5000,), generator=g)] + 0.7 * torch.randn(5000, 64, generator=g), dim=1
    )
    c = x[:64].clone()
    exact_l, exact_d = assign(x, c, precision="f32")
    fast_l, fast_d = assign(x, c, precision="bf16")
    assert (exact_l == fast_l).float().mean() >= 0.999
    assert torch.allclose(exact_d, fast_d, atol=1e-4)
    brute = torch.cdist(x, c).argmin(1)
    assert (brute == exact_l).float().mean() >= 0.999
    a, b = nearest_two(x, c, precision="f32"), nearest_two(x, c, precision="bf16")
    assert (a.first == b.first).float().mean() >= 0.999 and (a.second == b.second).float().mean() >= 0.99
