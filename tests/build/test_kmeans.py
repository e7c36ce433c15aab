import torch

from autointerp.build.kmeans import fit_kmeans, kmeans_plus_plus
from autointerp.core.search import nearest_two, normalise


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


def test_kmeans_pp_in_place_steps_equal_the_plain_formula():
    """The seeding's in-place arithmetic picks the same points as the textbook step, bit for bit."""

    def plain(x: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
        n = x.shape[0]
        centers = [x[int(torch.randint(n, (1,), generator=gen).item())]]
        x_sq = (x * x).sum(1)
        d2 = (x_sq - 2 * x @ centers[0] + centers[0].dot(centers[0])).clamp_min(0)
        for _ in range(1, k):
            centers.append(x[int(torch.multinomial(d2 / d2.sum(), 1, generator=gen).item())])
            d2 = torch.minimum(d2, (x_sq - 2 * x @ centers[-1] + centers[-1].dot(centers[-1])).clamp_min(0))
        return torch.stack(centers)

    x = torch.nn.functional.normalize(torch.randn(3000, 64, generator=torch.Generator().manual_seed(1)), dim=1)
    got = kmeans_plus_plus(x, 40, torch.Generator().manual_seed(3))
    assert torch.equal(got, plain(x, 40, torch.Generator().manual_seed(3)))


def test_spherical_centroids_are_unit_and_cosine_normalisation():
    x, _, _ = blobs()
    xs = normalise(x, x.mean(0), "cosine")
    assert torch.allclose(xs.norm(dim=1), torch.ones(len(xs)), atol=1e-5)
    r = fit_kmeans(xs, 6, iters=10, spherical=True)
    assert torch.allclose(r.centroids.norm(dim=1), torch.ones(6), atol=1e-5)
    assert torch.equal(normalise(x, None, "none"), x)


def test_bf16_fit_inertia_equals_float32_fit(real_acts):
    a = fit_kmeans(real_acts, 64, iters=10, seed=0, precision="f32")
    b = fit_kmeans(real_acts, 64, iters=10, seed=0, precision="bf16")
    assert abs(b.inertia - a.inertia) <= 1e-3 * a.inertia
    assert (a.labels == b.labels).double().mean() >= 0.999
