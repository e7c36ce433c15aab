import json
import subprocess
import sys

import pytest
import torch

from autointerp.build.kmeans import fit_kmeans
from autointerp.core import search as core_search
from autointerp.core.search import _argmin_rows, assign, nearest_two, search

NUMBA = core_search.NUMBA
PATHS = [
    pytest.param(True, id="compiled", marks=pytest.mark.skipif(not NUMBA, reason="no numba")),
    pytest.param(False, id="torch"),
]


@pytest.fixture(params=PATHS)
def loops(request, monkeypatch) -> bool:
    """Each bf16 test runs twice: with the compiled per-row loops (CPU) and with the torch ops (GPUs)."""
    monkeypatch.setattr(core_search, "KERNELS", request.param)
    return request.param


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


def test_bf16_labels_equal_exact_labels_on_real_activations(real_acts, loops):
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
            assert 0 < rechecked.rows < len(x) / 2  # the bound is doing work, and most rows need no re-check
            assert rechecked.pairs < 0.01 * len(x) * len(c)  # a doubtful row costs a few dot products
        f32_idx, _, _ = search(x, c, 1, precision="f32")
        assert (f32_idx[:, 0] == search(x, c, 1, precision="bf16")[0][:, 0]).double().mean() >= 0.999


def test_bf16_bound_holds_on_hostile_data(loops):
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


def test_auto_follows_the_measured_searches_and_caches_them_per_machine(real_acts, tmp_path, monkeypatch):
    """ "auto" picks bf16 where this machine ran a bf16 search block BF16_EDGE × as fast as a float32 one,
    from a timing stored in the user cache; a stored entry is reused, and where float32 wins it stays."""
    monkeypatch.setenv("AUTOINTERP_CACHE", str(tmp_path))
    core_search.kernel_rates.cache_clear()
    try:
        rates = core_search.kernel_rates()
        assert min(rates.f32, rates.bf16, rates.f32_search, rates.bf16_search, rates.bf16_fit) > 0
        stored = json.loads((tmp_path / core_search.KERNELS_FILE).read_text())
        key = core_search._machine_key()
        assert stored[key]["bf16_search"] == rates.bf16_search
        x = real_acts.repeat(-(-core_search.MIN_BF16_ROWS // len(real_acts)), 1)
        c = real_acts[:64].clone()
        expect = "bf16" if rates.bf16_search >= core_search.BF16_EDGE * rates.f32_search else "f32"
        assert core_search.search_precision(x, c) == expect
        assert core_search.search_precision(x[:100], c) == "f32"  # too small to pay for the bf16 set-up
        for f32, bf16, want in ((100.0, 100.0, "f32"), (100.0, 200.0, "bf16")):
            # the torch ops' rates say the opposite: they decide only where the compiled loops are off
            torch_rate = 300.0 - bf16
            stored[key] |= {"f32_search": f32, "bf16_search": bf16, "bf16_fit": bf16}
            stored[key] |= {"bf16_search_torch": torch_rate, "bf16_fit_torch": torch_rate}
            (tmp_path / core_search.KERNELS_FILE).write_text(json.dumps(stored))
            core_search.kernel_rates.cache_clear()
            assert core_search.search_precision(x, c) == want == core_search.search_precision(x, c, fit=True)
            idx, _, _ = search(x, c, 1)
            assert torch.equal(idx, search(x, c, 1, precision="f32")[0])
            compiled = core_search.KERNELS
            monkeypatch.setattr(core_search, "KERNELS", False)
            other = "bf16" if want == "f32" else "f32"
            assert core_search.search_precision(x, c) == other == core_search.search_precision(x, c, fit=True)
            monkeypatch.setattr(core_search, "KERNELS", compiled)
    finally:
        core_search.kernel_rates.cache_clear()


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


# --------------------------------------------------------------------------- the bf16 bound, adversarially
def f64_top(x: torch.Tensor, c: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 ground truth: the m smallest ‖x - c‖² per row, ties to the lowest column (a stable sort)."""
    d2 = torch.cdist(x.double(), c.double()) ** 2
    order = torch.sort(d2, dim=1, stable=True)
    return order.indices[:, :m], order.values[:, :m]


def near_ties(n: int, d: int, k: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Points built to sit on ties: centroids with exact duplicates and near-duplicates, and points on the
    bisector of two centroids (the midpoint plus a step orthogonal to their difference), mixed with
    ordinary points; cosine-normalised like real activations, with an outlier dimension."""
    g = torch.Generator().manual_seed(seed)
    c = torch.randn(k, d, generator=g)
    c[:, 3] *= 8
    c = torch.nn.functional.normalize(c, dim=1)
    dup = k // 8
    c[-dup:] = c[:dup]  # exact duplicates: float32 argmin takes the lower column
    c[-2 * dup : -dup] = c[dup : 2 * dup] + 1e-4 * torch.randn(dup, d, generator=g)  # near duplicates
    a, b = torch.randint(0, k, (2, n), generator=g)
    diff = c[b] - c[a]
    step = torch.randn(n, d, generator=g)
    step -= (step * diff).sum(1, keepdim=True) / (diff * diff).sum(1, keepdim=True).clamp_min(1e-12) * diff
    x = (c[a] + c[b]) / 2 + 0.3 * torch.nn.functional.normalize(step, dim=1)
    x[: n // 3] = c[torch.randint(0, k, (n // 3,), generator=g)] + 0.2 * torch.randn(n // 3, d, generator=g)
    return x, c


@pytest.mark.parametrize(("n", "d", "k"), [(300, 16, 40), (40_000, 256, 512)])
def test_bf16_labels_equal_float32_argmin_on_near_ties(n, d, k, loops):
    """Tiny and large: every label of the bf16 search is the float32 search's (and the float64 argmin's)
    wherever float64 separates the places by more than float32 resolves; on the remaining rows (points
    placed exactly on a bisector: a tie that float32 rounding, not geometry, decides) the pick is one of
    the tied centroids. Exact duplicates resolve to the lower column, as in the float32 argmin."""
    x, c = near_ties(n, d, k, seed=n)
    for m in (1, 2):
        bf, bd2, rechecked = search(x, c, m, chunk=1024, precision="bf16")
        f32, _, _ = search(x, c, m, chunk=1024, precision="f32")
        ref, ref_d2 = f64_top(x, c, m + 1)
        resolvable = (ref_d2[:, m] - ref_d2[:, m - 1]) > 1e-5  # the m-th place is not a float32 tie
        if m == 2:
            resolvable &= (ref_d2[:, 1] - ref_d2[:, 0]) > 1e-5
        assert resolvable.double().mean() > 0.1  # not vacuous
        assert torch.equal(bf[resolvable], ref[resolvable, :m])
        assert torch.equal(bf[resolvable], f32[resolvable])
        picked = (x.double().unsqueeze(1) - c.double()[bf]).pow(2).sum(2)
        assert (picked - ref_d2[:, :m]).abs().max() <= 1e-5  # on ties: one of the tied centroids
        assert torch.allclose(bd2.double(), ref_d2[:, :m], atol=1e-4)
        assert rechecked.rows > 0  # the near-ties reached the exact re-check
    dup = k // 8
    on_dup = torch.isin(f64_top(x, c, 1)[0][:, 0], torch.arange(dup))
    assert not torch.isin(search(x[on_dup], c, 1, precision="bf16")[0], torch.arange(k - dup, k)).any()


def test_rows_the_bound_settles_keep_the_float64_label(loops):
    """The bound's sufficiency, on its own: on every row the bf16 pass settles, the bf16 winner is the
    float64 argmin, and every other centroid's bf16 score lead over it is no larger than the window
    plus the actual error; on every doubtful row the exact top m are among the candidates."""
    x, c = near_ties(6000, 128, 256, seed=7)
    x[:, 3] *= 50  # un-normalised scale with an outlier dimension: large absolute errors
    table = core_search.CentroidTable.build(c, x.device, True)
    ref, _ = f64_top(x, c, 2)
    s64 = (c.double() ** 2).sum(1) - 2 * x.double() @ c.double().t()
    for m in (1, 2):
        for start in range(0, len(x), 1024):
            xb = x[start : start + 1024]
            norms = core_search.RowNorms(torch.linalg.vecdot(xb, xb))
            low = core_search._low_scores(xb, norms, table.low, 0.0, core_search.Scratch())
            cert = core_search._certify(low, table, m)
            sure = ~cert.unsure
            rows = torch.arange(start, start + len(xb))
            gap = s64[rows].gather(1, ref[rows, 1:2]).squeeze(1) - s64[rows].gather(1, ref[rows, :1]).squeeze(1)
            clear = gap > 1e-9 * s64[rows].abs().amax(1)  # float64 itself tells the two apart
            assert torch.equal(cert.idx[sure & clear], ref[rows][sure & clear, :m])
            cand = low.scores[:, : len(c)] <= cert.thr.unsqueeze(1)
            top = ref[rows, :m]
            assert cand.gather(1, top)[clear].all()  # the exact top m lie under the threshold


def test_making_a_worker_pool_keeps_the_callers_thread_count():
    """The first timing of the kernels runs on a one-thread pool: it once left the whole process on one torch
    thread (every later forward pass at half speed on 2 cores, and a stack's fit differing from a single build's)."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        core_search._POOLS.pop(1, None)
        core_search._workers(1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_numba_is_installed_so_the_compiled_loops_are_what_runs_on_cpu():
    """requirements.txt has numba: the compiled path is the one library users get, so the tests above are
    not checking the torch fallback twice."""
    assert NUMBA and core_search.KERNELS
    assert core_search._compiled(torch.zeros(1)) and not core_search._compiled(torch.zeros(1, device="meta"))


LOOPS_CHILD = """
import importlib.machinery, sys, types, warnings, torch
if sys.argv[1] == "broken":  # numba installed, but its decorator raising, as with no writable cache folder
    def njit(**options):
        raise RuntimeError("cannot cache function: no locator available")
    numba = types.ModuleType("numba")
    numba.__spec__, numba.njit = importlib.machinery.ModuleSpec("numba", None), njit
    sys.modules["numba"] = numba
from autointerp.core import search
search.use_compiled_loops(sys.argv[1] != "off")
warnings.simplefilter("error" if sys.argv[1] != "broken" else "default")
g = torch.Generator().manual_seed(0)
x, c = torch.randn(3 * search.CHUNK, 64, generator=g), torch.randn(256, 64, generator=g)
idx, _, _ = search.search(x, c, 2, precision="bf16")
search.assign(x, c, precision="bf16")
d2, ref = torch.sort(torch.cdist(x.double(), c.double()) ** 2, dim=1, stable=True)
apart = ((d2[:, 1:3] - d2[:, :2]) > 1e-3).all(1)  # elsewhere float32 rounding, not the search, picks
same = bool(apart.float().mean() > 0.99) and torch.equal(idx[apart], ref[apart, :2])
print(int("numba.core" in sys.modules), int(same))
"""


@pytest.mark.skipif(not NUMBA, reason="no numba")
def test_a_process_that_turns_the_loops_off_never_loads_numba():
    """The dashboard's server turns the compiled loops off (numba and LLVM would stay resident, about
    150 MB): its bf16 searches then run the torch ops, numba is never imported, and labels are the float64
    argmin's wherever float64 separates the places.
    Where numba fails to load, the search falls back to the torch ops too."""
    runs = {
        mode: subprocess.run([sys.executable, "-c", LOOPS_CHILD, mode], capture_output=True, text=True, check=True)
        for mode in ("off", "on", "broken")
    }
    assert runs["off"].stdout.split() == ["0", "1"]
    assert runs["on"].stdout.split() == ["1", "1"]
    # numba failing to load leaves the torch ops, with one warning saying so, and the same labels
    assert runs["broken"].stdout.split() == ["0", "1"]
    assert runs["broken"].stderr.count("compiled search loops unavailable") == 1


def test_the_dashboard_turns_the_loops_off():
    """app.py calls use_compiled_loops(False) before anything builds (checked on its source: an AppTest
    of the first launch is the llama.cpp test's job)."""
    import ast
    from pathlib import Path

    app = Path(__file__).resolve().parents[2] / "app.py"
    calls = [
        node
        for node in ast.walk(ast.parse(app.read_text()))
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "use_compiled_loops"
    ]
    assert len(calls) == 1 and calls[0].args[0].value is False


@pytest.mark.skipif(not NUMBA, reason="no numba")
def test_compiled_loops_equal_the_torch_ops_block_by_block(monkeypatch):
    """Top two with ties (cross-lane and in-lane), the re-check (one and two nearest) and the exact
    distances: the compiled loops give the torch ops' answers on the same block, with the same rows
    re-checked."""
    x, c = near_ties(4096, 96, 320, seed=5)
    g = torch.Generator().manual_seed(1)
    s = torch.randn(600, 1024, generator=g)
    s[:, 700] = s[:, 3] = s.min(1).values - 1
    s[:50, 35] = s[:50, 3]
    v1, b1, v2, lanes = core_search._top2(s)
    ref = core_search._lane_top2(s.clone())
    assert torch.equal(v1, ref[0]) and torch.equal(v2, ref[2]) and (v1 == v2)[:50].all()
    assert torch.equal(s.gather(1, b1.unsqueeze(1)).squeeze(1), v1) and lanes is not None
    table = core_search.CentroidTable.build(c, x.device, True)
    norms = core_search.RowNorms.of(x, True)
    _, ref_d2 = f64_top(x, c, 3)
    for m in (1, 2):
        out = {}
        for compiled in (True, False):
            monkeypatch.setattr(core_search, "KERNELS", compiled)
            out[compiled] = core_search._search_block(x, norms, table, m, 0.5, True, core_search.Scratch())
        fast, slow = out[True], out[False]
        assert fast.rechecked > 0 and fast.rechecked == slow.rechecked
        # For m = 2 a tie for second place may pick the other tied column, whose own window sets the threshold.
        assert fast.pairs == slow.pairs if m == 1 else abs(fast.pairs - slow.pairs) <= 0.01 * slow.pairs
        # elsewhere float32 rounding order picks among ties
        resolvable = ((ref_d2[:, 1:] - ref_d2[:, :-1]) > 1e-5)[:, :m].all(1)
        assert resolvable.double().mean() > 0.2 and (~resolvable).any()
        assert torch.equal(fast.idx[resolvable], slow.idx[resolvable])
        assert torch.allclose(fast.d2, slow.d2, atol=1e-5)
    cols = torch.randint(0, len(c), (len(x),), generator=g)
    dots = core_search._row_dots(x, table.c, cols, core_search.Scratch())
    assert torch.allclose(dots.double(), (x.double() * c.double()[cols]).sum(1), atol=1e-5)


def test_a_hint_of_last_distances_keeps_the_labels_and_re_checks_fewer_rows(real_acts, loops):
    """A fit's final pass passes its last distances as the bf16 shift per row: same labels and distances
    as a search without them, fewer doubtful rows."""
    x = real_acts.repeat(-(-3 * core_search.CHUNK // len(real_acts)), 1)
    x = x + 1e-3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    c = fit_kmeans(x, 64, iters=4, seed=0, precision="f32").centroids
    plain_idx, plain_d2, plain = search(x, c, 1, precision="bf16")
    hint = core_search.Hint(core_search.RowNorms.of(x, True), plain_d2[:, 0] * 1.01)
    idx, d2, hinted = search(x, c, 1, precision="bf16", hint=hint)
    assert torch.equal(idx, plain_idx) and torch.allclose(d2, plain_d2, atol=1e-5)
    assert hinted.rows < plain.rows


@pytest.mark.skipif(not NUMBA, reason="no numba")
def test_compiled_bf16_conversion_is_torchs_bit_for_bit():
    """The compiled conversion rounds as torch does (to nearest, ties to even; inf and signed zeros kept;
    NaN stays NaN), and its row norms and rounding residuals are the float64 values: the error bound
    assumes the matmul sees exactly these bf16 values."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 70, generator=g) * torch.logspace(-18, 18, 70)
    x[0, :5] = torch.tensor([float("inf"), -float("inf"), float("nan"), 0.0, -0.0])
    x[1] = 1.0 + torch.arange(70) * 2.0**-9  # every other value a tie at bf16's rounding boundary
    x[2] = -x[1]
    table = core_search.CentroidTable.build(torch.randn(32, 70, generator=g), x.device, True)
    scratch = core_search.Scratch()
    low = core_search._low_scores(x, None, table.low, 0.0, scratch)
    got = scratch.get("low", (300, table.low.shape[1]), torch.bfloat16, x.device)[:, :70]
    want = x.bfloat16()
    nan = want.isnan()
    assert torch.equal(got.isnan(), nan)
    assert torch.equal(got.view(torch.int16)[~nan], want.view(torch.int16)[~nan])
    fine = torch.isfinite(x).all(1)
    x64 = x[fine].double()
    assert torch.allclose(low.sq[fine].double(), (x64 * x64).sum(1), rtol=1e-6)
    resid = (x64 - want[fine].double()).norm(dim=1)
    assert torch.allclose(low.resid[fine].double(), resid, rtol=1e-6)


def test_a_tie_goes_to_the_lower_column_in_first_and_second_place(loops):
    """Points 30% of the way from a centroid to one that has an exact duplicate (where that pair is second,
    the place is an exact tie) and points next to a duplicated pair: both paths give a tie to the lower
    column, as a float32 argmin would."""
    g = torch.Generator().manual_seed(2)
    c = torch.nn.functional.normalize(torch.randn(64, 32, generator=g), dim=1)
    c[33:41] = c[8:16]  # in lanes 1-8 (column mod 32): a compiled loop meets the higher column first
    a, b = torch.randint(0, 8, (3000,), generator=g), torch.randint(8, 16, (3000,), generator=g)
    x = c[a] + 0.3 * (c[b] - c[a]) + 1e-3 * torch.randn(3000, 32, generator=g)
    idx, _, rechecked = search(x, c, 2, precision="bf16")
    ref, ref_d2 = f64_top(x, c, 3)  # a stable sort: the duplicate with the lower column comes first
    tied = (ref[:, 1] >= 8) & (ref[:, 1] < 16) & ((ref_d2[:, 1] - ref_d2[:, 0]) > 1e-5)
    assert tied.double().mean() > 0.5 and torch.equal(ref[tied, 2], ref[tied, 1] + 25)
    assert torch.equal(idx[tied], ref[tied, :2])
    assert rechecked.rows >= int(tied.sum())  # a tie for second place is never settled by the bf16 pass
    near = c[b] + 0.02 * torch.randn(3000, 32, generator=g)  # first place: the duplicated pair itself
    for m in (1, 2):
        assert torch.equal(search(near, c, m, precision="bf16")[0][:, 0], b)
