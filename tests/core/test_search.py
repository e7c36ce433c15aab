import subprocess
import sys

import pytest
import torch

from autointerp.build.kmeans import fit_kmeans
from autointerp.core import search as core_search
from autointerp.core.search import _argmin_rows, assign, nearest_two, search


def test_nearest_two_matches_brute_force():
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(3000, 12, generator=g), torch.randn(20, 12, generator=g)
    n = nearest_two(x, c, chunk=257)
    d = torch.cdist(x, c)
    vals, idx = d.topk(2, largest=False)
    assert torch.equal(n.first, idx[:, 0]) and torch.equal(n.second, idx[:, 1])
    assert torch.allclose(n.dist, vals[:, 0], atol=1e-3) and (n.margin >= 0).all()


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


def exact_scores(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """‖c‖² - 2x·c in float64: the reference the float32 and bf16 searches are held to."""
    x64, c64 = x.double(), c.double()
    return (c64 * c64).sum(1) - 2 * x64 @ c64.t()


def test_bf16_labels_equal_exact_labels_on_real_activations(real_acts):
    x = real_acts
    g = torch.Generator().manual_seed(0)
    for c in (x[torch.randperm(len(x), generator=g)[:256]].clone(), fit_kmeans(x, 96, iters=5, seed=1).centroids):
        s = exact_scores(x, c)
        best = s.min(1).values
        top2 = s.topk(2, dim=1, largest=False).indices
        for m in (1, 2):
            idx, d2, rechecked = search(x, c, m, precision="bf16")
            # within float32 rounding of the exact nearest, on every row
            excess = s.gather(1, idx[:, :1]).squeeze(1) - best
            assert excess.max() <= 1e-5
            assert (idx[:, 0] == top2[:, 0]).double().mean() >= 0.999
            if m == 2:
                assert (idx[:, 1] == top2[:, 1]).double().mean() >= 0.999
            exact_d2 = (x.double() ** 2).sum(1, keepdim=True) + s.gather(1, idx)
            assert torch.allclose(d2.double(), exact_d2, atol=1e-4)
            assert 0 < rechecked < len(x)  # the bound is doing work, and most rows need no re-check
        f32_idx, _, _ = search(x, c, 1, precision="f32")
        assert (f32_idx[:, 0] == search(x, c, 1, precision="bf16")[0][:, 0]).double().mean() >= 0.999


def test_bf16_bound_holds_on_hostile_data():
    """Large norms, one dominant dimension, duplicated centroids and near ties: the bf16 winner (or the
    re-checked one) is always the exact nearest up to float32 rounding."""
    g = torch.Generator().manual_seed(3)
    base = torch.randn(40, 128, generator=g)
    x = base[torch.randint(0, 40, (6000,), generator=g)] + 0.05 * torch.randn(6000, 128, generator=g)
    x[:, 7] *= 40  # an outlier dimension, as in real residual streams
    x *= 300  # raw (un-normalised) activation scale
    c = torch.cat([x[:64], x[:8]])  # 8 exact duplicates: ties
    c[64:] += 1e-3  # ...and near ties
    s = exact_scores(x, c)
    idx, d2, _ = search(x, c, 2, precision="bf16")
    scale = (x.double() ** 2).sum(1)
    assert ((s.gather(1, idx[:, :1]).squeeze(1) - s.min(1).values) / scale).max() <= 1e-6
    second = s.scatter(1, idx[:, :1], float("inf")).min(1).values
    assert ((s.gather(1, idx[:, 1:]).squeeze(1) - second) / scale).max() <= 1e-6


def test_lane_argmin_equals_torch_argmin_with_ties():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(500, 1024, generator=g)
    s[:, 700] = s[:, 3] = s.min(1).values - 1  # tie across lanes: the lowest column must win
    s[:50, 40] = s[:50, 3]  # tie inside lane 8... and across lanes again
    vals, cols = _argmin_rows(s.clone())
    ref_vals, ref_cols = s.min(1)
    assert torch.equal(cols, ref_cols) and torch.equal(vals, ref_vals)
    s2 = torch.randn(300, 512, generator=g)
    assert torch.equal(_argmin_rows(s2)[1], s2.argmin(1))


def test_worker_threads_give_the_same_result_as_one_thread(real_acts):
    c = real_acts[:128].clone()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = search(real_acts, c, 2, chunk=512)
        fit_one = fit_kmeans(real_acts, 32, iters=3, seed=0)
        torch.set_num_threads(2)
        two = search(real_acts, c, 2, chunk=512)
        fit_two = fit_kmeans(real_acts, 32, iters=3, seed=0)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one[0], two[0]) and torch.equal(one[1], two[1])
    assert torch.equal(fit_one.labels, fit_two.labels)
    assert torch.allclose(fit_one.centroids, fit_two.centroids, atol=1e-6)
    assert torch.get_num_threads() == before


def test_auto_times_both_searches_on_amx_cpus(real_acts, monkeypatch):
    """On an AMX CPU "auto" runs the faster search as timed on a real block; either way labels are exact."""
    monkeypatch.setattr(core_search, "amx_available", lambda: True)
    monkeypatch.setattr(core_search, "_CHOICES", {})
    x = real_acts.repeat(-(-4 * core_search.CHUNK // len(real_acts)), 1)  # enough rows to be worth timing
    c = real_acts[:64].clone()
    idx, _, _ = search(x, c, 1)
    assert list(core_search._CHOICES) == [((64).bit_length(), x.shape[1], 1)]
    assert (idx == search(x, c, 1, precision="f32")[0]).double().mean() >= 0.999


def test_precision_is_checked():
    with pytest.raises(ValueError, match="precision"):
        assign(torch.randn(10, 4), torch.randn(3, 4), precision="fp8")


FAULTS_CHILD = """
import resource, sys, torch
from autointerp.core import search
if sys.argv[1] == "off":
    search._keep_blocks_on_the_heap = lambda: False  # what glibc does by default
torch.set_num_threads(1)
x, c = torch.randn(12 * search.CHUNK, 64), torch.randn(1024, 64)
search.assign(x, c, precision="f32")
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
search.assign(x, c, precision="f32")
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's allocator")
def test_search_blocks_reuse_their_memory_instead_of_refaulting_it():
    """A repeated search touches no fresh pages per block (glibc would otherwise mmap and unmap each
    block's 16 MB of scores: thousands of page faults per block, 40% of a float32 assignment's time)."""
    runs = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", FAULTS_CHILD, mode], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("on", "off")
    }
    assert runs["off"] > 12 * 1000  # the default allocator re-faults every block: the check can fail
    assert runs["on"] < runs["off"] / 10
