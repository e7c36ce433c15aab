"""Exact nearest-centroid search in torch (the k-means fit, the index build and every assignment run it).

Where the time goes: a nearest-centroid pass is one (n × d) · (d × k) matmul, 2·n·k·d flops; everything
else must stay small next to it. Two exact searches share one API (`search`):

- float32: oneDNN's matmul (per core on AMD EPYC: 2.2× the MKL sgemm behind `torch.addmm`, 1.5-1.9×
  faiss's BLAS),
  then a per-row minimum that costs about a tenth of torch's `min(dim)` (see `_argmin_rows`).
- bf16 with a proven re-check: the matmul in bfloat16 and, per row, a bound on its rounding error; rows
  whose runner-up is within the bound are searched again in float32, every other row's bf16 winner is
  provably the exact nearest centroid (see `_search_block`). It pays where bf16 matmuls are several times
  faster than float32: AMX CPUs and GPUs. See `_use_bf16` for what `precision="auto"` picks.

Both return the float32 labels, up to ties within float32 rounding.
"""

from __future__ import annotations

import ctypes
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import torch

CHUNK = 4096  # rows per search block: its scores stay in the last-level cache (4096 measured best of 1-8k)
U_BF16 = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits, round to nearest even)
U_F32 = 2.0**-24
ROW_PAD = 16  # bf16 rows are padded to a multiple of this, which the bf16 dot-product kernels prefer
LANES = 32  # see _argmin_rows; bf16 centroid tables are padded to a multiple of this
T = TypeVar("T")


def normalise(x: torch.Tensor, center: torch.Tensor | None, mode: str) -> torch.Tensor:
    """'cosine': subtract the training mean and unit-normalise; 'none': raw vectors."""
    x = x.float()
    if mode == "cosine":
        if center is not None:
            x = x - center.to(x.device, torch.float32)
        return torch.nn.functional.normalize(x, dim=-1)
    return x


def centre_and_normalise(
    kept: torch.Tensor, center: torch.Tensor | None, mode: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training points for the fit and their centred norms (recorded to undo the normalisation)."""
    centred = kept.float() - center.to(kept.device, torch.float32) if center is not None else kept.float()
    return normalise(centred, None, mode), centred.norm(dim=1)


@dataclass
class Nearest:
    first: torch.Tensor  # (n,) long
    dist: torch.Tensor  # (n,) Euclidean distance to the nearest centroid
    second: torch.Tensor  # (n,) long, runner-up (equals first when k == 1)
    dist2: torch.Tensor  # (n,) distance to the runner-up

    @property
    def margin(self) -> torch.Tensor:
        return self.dist2 - self.dist


@functools.cache
def amx_available() -> bool:
    """Whether this CPU has AMX tiles (bf16 matmuls several times float32's speed), from /proc/cpuinfo."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and "amx_bf16" in line.split() for line in text.splitlines())


def search_precision(x: torch.Tensor, centroids: torch.Tensor, m: int = 1, precision: str = "auto") -> str:
    """Which search `search(x, centroids, m, precision=precision)` runs, "bf16" or "f32" (see `_use_bf16`)."""
    return "bf16" if _use_bf16(x, centroids, m, precision) else "f32"


_CHOICES: dict[tuple[int, int, int], bool] = {}  # (k's bit length, d, m) -> bf16 measured faster on this CPU


def _use_bf16(x: torch.Tensor, centroids: torch.Tensor, m: int, precision: str) -> bool:
    """Which search to run. "auto": float32 on CPUs without AMX (measured faster here: AVX-512-bf16 alone
    gives bf16 matmuls 2.3× float32, which the re-check and bookkeeping eat), bf16 on GPUs, and on AMX
    CPUs whichever ran faster on a real block (timed once per process and problem size)."""
    if precision not in ("auto", "bf16", "f32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'f32', got {precision!r}")
    k = centroids.shape[0]
    if precision != "auto" or k < LANES:
        return precision == "bf16"
    if x.device.type != "cpu":
        return x.device.type == "cuda"
    if not amx_available():
        return False
    key = (k.bit_length(), x.shape[1], m)
    if key not in _CHOICES:
        if len(x) < 4 * CHUNK:  # too small to be worth timing
            return False
        _CHOICES[key] = _bf16_faster(x[:CHUNK].float(), centroids, m)
    return _CHOICES[key]


def _bf16_faster(xb: torch.Tensor, centroids: torch.Tensor, m: int) -> bool:
    """Time both searches on one block of real rows (best of three runs each)."""
    norms = RowNorms(torch.linalg.vecdot(xb, xb))
    best = {}
    for bf16 in (False, True):
        table = CentroidTable.build(centroids, xb.device, bf16)
        est = _pilot_estimate(xb, table) if bf16 else 0.0
        scratch, times = Scratch(), []
        for _ in range(3):
            t = time.perf_counter()
            _search_block(xb, norms, table, m, est, True, scratch)
            times.append(time.perf_counter() - t)
        best[bf16] = min(times)
    return best[True] < best[False]


def _padded(d: int) -> int:
    """Width of a bf16 row: d values, two squared-norm columns, the shift column, zero padding."""
    return -(-(d + 3) // ROW_PAD) * ROW_PAD


ONEDNN = torch.backends.mkldnn.is_available()


def _f32_scores(x: torch.Tensor, table: CentroidTable) -> torch.Tensor:
    """‖c‖² - 2x·c for every row and centroid, in float32.

    On CPU this runs oneDNN's float32 matmul (a linear layer on oneDNN-layout tensors): on AMD EPYC
    (AVX-512) it ran 2.2× the MKL sgemm that `torch.addmm` uses, which takes a slower code path on
    non-Intel CPUs, conversions to and from oneDNN's layout included."""
    if table.onednn is not None and x.device.type == "cpu":
        weight, bias = table.onednn
        return torch.nn.functional.linear(x.contiguous().to_mkldnn(), weight, bias).to_dense()
    return torch.addmm(table.sq, x, table.m2.t())


def _low_matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """a · bᵀ for bf16 operands: products exact, sums in float32, the result rounded once to bf16."""
    if a.device.type == "cuda" and torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction:
        # cuBLAS may otherwise round partial sums to bf16, which the error bound does not cover.
        torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
        try:
            return torch.mm(a, b.t(), out=out)
        finally:
            torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = True
    return torch.mm(a, b.t(), out=out)


@dataclass
class CentroidTable:
    """Centroids laid out for the search, built once per centroid set.

    For the bf16 search, `low` holds rows [-2·c̃, hi(‖c‖²), lo(‖c‖²), 1, 0…] to meet point rows
    [x̃, 1, 1, σ, 0…]: one matmul yields ‖c‖² - 2x·c + σ, with the squared norm split in two bf16 values
    (accurate to 2^-16, not bf16's 2^-8) and σ a per-row shift (see `_search_block`)."""

    c: torch.Tensor  # (k, d) float32
    sq: torch.Tensor  # (k,) ‖c‖²
    m2: torch.Tensor  # (k, d) -2c, the float32 weights
    low: torch.Tensor | None  # (k rounded up to LANES, padded d) bf16; None for the float32 search
    norm: torch.Tensor  # (k,) ‖c‖
    resid: torch.Tensor  # (k,) ‖c - c̃‖, the bf16 rounding error
    max_norm: float
    max_resid: float
    onednn: tuple[torch.Tensor, torch.Tensor] | None = None  # -2c and ‖c‖² in oneDNN's layout (CPU)

    @classmethod
    def build(cls, centroids: torch.Tensor, device: torch.device, bf16: bool) -> CentroidTable:
        c = centroids.to(device, torch.float32).contiguous()
        k, d = c.shape
        sq = (c * c).sum(1)
        norm = sq.sqrt()
        low, resid = None, torch.zeros_like(sq)
        if bf16:
            ct = c.to(torch.bfloat16)
            # Padding rows are centroids that never win (score 1e30).
            low = torch.zeros((-(-k // LANES) * LANES, _padded(d)), dtype=torch.bfloat16, device=device)
            low[k:, d] = 1e30
            low[:k, :d] = ct * -2  # exact: a power of two
            hi = sq.to(torch.bfloat16)
            low[:k, d] = hi
            low[:k, d + 1] = (sq - hi.float()).to(torch.bfloat16)
            low[:k, d + 2] = 1
            resid = (c - ct.float()).norm(dim=1)
        top = float(norm.max()) if k else 0.0
        m2 = -2.0 * c
        onednn = (m2.to_mkldnn(), sq.to_mkldnn()) if ONEDNN and device.type == "cpu" and k else None
        return cls(c, sq, m2, low, norm, resid, top, float(resid.max()) if k else 0.0, onednn)


@dataclass
class RowNorms:
    """Per point: ‖x‖² and, for the bf16 error bound, ‖x - bf16(x)‖. Computed once per shard for a fit
    (every Lloyd iteration reuses them); a single search computes the second from its bf16 block."""

    sq: torch.Tensor
    resid: torch.Tensor | None = None

    @classmethod
    def of(cls, x: torch.Tensor, bound: bool) -> RowNorms:
        sq = torch.cat([torch.linalg.vecdot(xb, xb) for xb in x.split(CHUNK)]) if len(x) else x.new_empty(0)
        if not bound:
            return cls(sq)
        resid = [torch.linalg.vector_norm(xb - xb.to(torch.bfloat16), dim=1) for xb in x.split(CHUNK)]
        return cls(sq, torch.cat(resid) if resid else x.new_empty(0))

    def slice(self, s: int, e: int) -> RowNorms:
        return RowNorms(self.sq[s:e], None if self.resid is None else self.resid[s:e])


class Scratch:
    """Buffers reused from block to block: a fresh multi-megabyte tensor costs a page fault per 4 KiB on
    first touch, which measured as much as the arithmetic done on it."""

    def __init__(self) -> None:
        self._bufs: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        n = 1
        for s in shape:
            n *= s
        buf = self._bufs.get(name)
        if buf is None or buf.numel() < n or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(max(n, 1), dtype=dtype, device=device)
            self._bufs[name] = buf
        return buf[:n].view(shape)


@dataclass
class BlockResult:
    idx: torch.Tensor  # (rows, m) long, nearest first
    d2: torch.Tensor  # (rows, m) squared distances: exact, or within the bf16 bound when not asked to be
    rechecked: int  # rows the bf16 pass handed to the float32 search


def _argmin_rows(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the smallest value and its column (the lowest column on ties), without `min(dim)`.

    `min(dim)` with indices runs about 10× slower than `amin` on CPU, so the columns are dealt into LANES
    lanes (column j into lane j mod LANES): one vectorised `amin` gives each lane's minimum, and only the
    winning lane's k / LANES members are looked at again."""
    r, k = s.shape
    if k % LANES or k < 8 * LANES:  # measured: plain `min` is as fast below 256 columns
        return s.min(1)
    grid = s.view(r, k // LANES, LANES)
    lane_min = grid.amin(1)  # (r, LANES)
    val = lane_min.amin(1, keepdim=True)
    lane = (lane_min == val).to(torch.uint8).argmax(1)  # the first lane holding the minimum
    members = grid.gather(2, lane.view(r, 1, 1).expand(r, grid.shape[1], 1)).squeeze(2)  # (r, k / LANES)
    group = (members == val).to(torch.uint8).argmax(1)
    # Ties across lanes: the lowest column is the lowest group, then lowest lane, among all minima.
    tied = (lane_min == val).sum(1) > 1
    col = group * LANES + lane
    if bool(tied.any()):
        rows = tied.nonzero().flatten()
        col[rows] = s[rows].argmin(1)
    return val.squeeze(1), col


def _smallest(s: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The m (1 or 2) smallest values of each row and their columns, nearest first (for m = 2 the first
    winner is overwritten with +inf in s)."""
    v1, b1 = _argmin_rows(s)
    if m == 1:
        return v1.unsqueeze(1), b1.unsqueeze(1)
    s.view(-1).index_fill_(0, torch.arange(len(s), device=s.device) * s.shape[1] + b1, float("inf"))
    v2, b2 = _argmin_rows(s)
    return torch.stack([v1, v2], 1), torch.stack([b1, b2], 1)


@dataclass
class LowScores:
    """One block's bf16 pass, and the per-row quantities its error bound needs."""

    scores: torch.Tensor  # (rows, table rows) the bf16 scores O, as float32
    sigma: torch.Tensor  # (rows,) the shift σ actually added (bf16-rounded)
    resid: torch.Tensor  # (rows,) ‖ξ‖ = ‖x - x̃‖
    low_norm: torch.Tensor  # (rows,) an upper bound on ‖x̃‖
    width: int  # padded row width: the number of products each score sums


def _low_scores(
    x: torch.Tensor, norms: RowNorms, low_table: torch.Tensor, est: torch.Tensor | float, scratch: Scratch
) -> LowScores:
    """O_j = ‖c_j‖² - 2x·c_j + σ for every row and centroid in one bf16 matmul (see `CentroidTable`)."""
    r, d = x.shape
    low = scratch.get("low", (r, low_table.shape[1]), torch.bfloat16, x.device)
    low[:, :d].copy_(x)
    low[:, d : d + 2] = 1
    low[:, d + 2] = norms.sq - est  # σ, rounded to bf16: any shift works, it is the same for every j
    low[:, d + 3 :] = 0
    resid = norms.resid
    if resid is None:
        xt = scratch.get("xt", x.shape, torch.float32, x.device)
        resid = torch.linalg.vector_norm(xt.copy_(low[:, :d]).sub_(x), dim=1)
    o = _low_matmul(low, low_table, scratch.get("o", (r, low_table.shape[0]), torch.bfloat16, x.device))
    scores = scratch.get("scores", o.shape, torch.float32, x.device).copy_(o)
    low_norm = norms.sq.sqrt() + resid  # ≥ ‖x̃‖ (triangle inequality)
    return LowScores(scores, low[:, d + 2].float(), resid, low_norm, low.shape[1])


def _window(low: LowScores, table: CentroidTable, v: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """W per row: any centroid scoring more than W above the row's winner b (score v) is provably
    farther than b. A bounds the pair's error before bf16's output rounding (relative, at most u):
    input rounding of x and c, float32 sums of `width` products (γ_n, n generous), and the two-part
    squared norm; C and G are the largest ‖c‖ and ‖γ‖ over all centroids."""
    eps = U_BF16 / (1 - U_BF16)
    n_acc = 2 * low.width
    gamma = n_acc * U_F32 / (1 - n_acc * U_F32)
    big = table.max_norm
    sums = 2 * gamma * (2 * low.low_norm * big * (1 + U_BF16) + big * big * (1 + U_BF16) + low.sigma.abs())
    norms_split = 2 * (U_BF16**2 + table.c.shape[1] * U_F32 * 1.01) * big * big  # and ‖c‖²'s own float32 error
    inputs = 2 * low.resid * (big + table.norm[b]) + 2 * low.low_norm * (table.max_resid + table.resid[b])
    return (inputs + sums + norms_split + 2 * eps * v.abs()) / (1 - eps) * 1.001 + 1e-30


def _search_block(
    x: torch.Tensor,
    norms: RowNorms,
    table: CentroidTable,
    m: int,
    est: torch.Tensor | float,
    exact_d2: bool,
    scratch: Scratch,
) -> BlockResult:
    """The m (1 or 2) nearest centroids of each row of x, equal to the float32 search.

    float32 (`table.low` None): the scores ‖c‖² - 2x·c in one matmul, then the m smallest per row.

    bf16: O_j = ‖c_j‖² - 2x·c_j + σ in one bf16 matmul, σ = ‖x‖² - est, so that near the winner
    O ≈ d²_j - est is small and so is bf16's (relative) output rounding. Write x = x̃ + ξ and c = c̃ + γ
    for the bf16 roundings. Before that output rounding, the computed difference between any centroid j
    and the winner b differs from the exact one by at most
        A = 2‖ξ‖(‖c_j‖ + ‖c_b‖) + 2‖x̃‖(‖γ_j‖ + ‖γ_b‖) + (float32 sums and squared-norm split),
    so every j whose computed score exceeds b's by more than W = (A + 2ε|O_b|)/(1 - ε), ε = u/(1 - u),
    is provably farther than b (`_window`). A row whose runner-up (for m = 2 also the third) lies within
    W is searched again in float32; every other row keeps the bf16 winner, which is then the exact
    nearest centroid. bench/run.py reports the share of rows re-searched."""
    r = len(x)
    m = min(m, table.c.shape[0])
    xsq = norms.sq.unsqueeze(1)
    if table.low is None:
        vals, idx = _smallest(_f32_scores(x, table), m)
        return BlockResult(idx, (vals + xsq).clamp_min(0), 0)
    low = _low_scores(x, norms, table.low, est, scratch)
    vals, idx = _smallest(low.scores, m)
    flat = (torch.arange(r, device=x.device) * low.scores.shape[1]).unsqueeze(1).add(idx).view(-1)
    runner_up = low.scores.view(-1).index_fill_(0, flat, float("inf")).view(low.scores.shape).amin(1)
    unsure = (runner_up - vals[:, -1]) <= _window(low, table, vals[:, -1], idx[:, -1])
    if m == 2:
        unsure |= (vals[:, 1] - vals[:, 0]) <= _window(low, table, vals[:, 0], idx[:, 0])
    if exact_d2:
        dots = torch.stack([_row_dots(x, table.c, idx[:, j], scratch) for j in range(m)], 1)
        d2 = xsq + table.sq[idx] - 2 * dots
    else:
        d2 = vals - low.sigma.unsqueeze(1) + xsq
    redo = unsure.nonzero().flatten()
    if len(redo):
        rv, ri = _smallest(_f32_scores(x[redo], table), m)
        idx[redo], d2[redo] = ri, rv + xsq[redo]
    return BlockResult(idx, d2.clamp_min(0), len(redo))


def _row_dots(x: torch.Tensor, c: torch.Tensor, cols: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """x[p] · c[cols[p]] for every row p, gathering into a reused buffer."""
    g = torch.index_select(c, 0, cols, out=scratch.get("gather", x.shape, torch.float32, x.device))
    return g.mul_(x).sum(1)


def _pilot_estimate(x: torch.Tensor, table: CentroidTable, rows: int = 256) -> float:
    """A typical nearest squared distance, from a float32 search of a few rows: the first shift σ."""
    if len(x) == 0:
        return 0.0
    xb = x[:rows].float()
    f32 = replace(table, low=None)
    res = _search_block(xb, RowNorms(torch.linalg.vecdot(xb, xb)), f32, 1, 0.0, True, Scratch())
    return float(res.d2.median())


_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _workers(threads: int) -> ThreadPoolExecutor:
    """`threads` worker threads whose torch ops run single-threaded, created once per thread count.

    Blocks are independent, so the search splits rows between workers instead of splitting each op
    between OpenMP threads: no barrier per op. On a shared machine a barrier waits for whichever thread
    the scheduler parked; measured under load 8 on 2 cores, 2 such workers ran 3-4× faster than the same
    blocks with 2 OpenMP threads, and on an idle machine they lose nothing."""
    with _POOL_LOCK:
        pool = _POOLS.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(threads, thread_name_prefix="kmeans")
            barrier = threading.Barrier(threads)  # one init per worker thread

            def single_threaded() -> None:
                torch.get_num_threads()  # torch's lazy per-thread setup first, or it would undo the next line
                torch.set_num_threads(1)  # per thread (OpenMP ICV), but also the default for new threads
                barrier.wait()

            for f in [pool.submit(single_threaded) for _ in range(threads)]:
                f.result()
            torch.set_num_threads(threads)  # restore that default; this thread keeps its own count
            _POOLS[threads] = pool
    return pool


MIN_ROWS = 1024  # the least a worker is given; smaller calls run inline
HEAP_KEEP = 64 << 20  # block buffers under this size stay on the heap (see `_keep_blocks_on_the_heap`)


@functools.cache
def _keep_blocks_on_the_heap() -> bool:
    """Have glibc reuse freed block buffers instead of unmapping them: True if it took.

    glibc serves every allocation at or above its (dynamic) mmap threshold from a fresh mmap and unmaps
    it on free, so each 4k-row block's multi-megabyte scores re-fault their pages: measured, 500k minor
    faults and 40% of the CPU time of a 200k × 1024 float32 assignment, and a run's speed depended on
    which larger buffers happened to be freed before it. Fixed thresholds (64 MB mmap, 128 MB trim) keep
    such buffers on the heap; memory above the trim threshold still goes back to the system. Once per
    process, before the first large search; a no-op off glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    return bool(mallopt(m_mmap_threshold, HEAP_KEEP)) and bool(mallopt(m_trim_threshold, 2 * HEAP_KEEP))


def _map_rows(fn: Callable[[int, int], T], n: int, device: torch.device) -> list[T]:
    """fn over contiguous row ranges, one per CPU worker (see `_workers`), in row order. A single
    4k-token batch is split too: with 2 OpenMP threads under load it ran 7× slower than on one worker
    thread. Inline on a GPU, with one torch thread, or for fewer than 2 × MIN_ROWS rows. The ranges depend
    only on n and the thread count, so results (and float summation orders) are reproducible."""
    if device.type == "cpu" and n >= 2 * CHUNK:
        _keep_blocks_on_the_heap()
    threads = torch.get_num_threads()
    parts = min(threads, n // MIN_ROWS)
    if device.type != "cpu" or parts <= 1 or threading.current_thread().name.startswith("kmeans"):
        return [fn(0, n)]
    edges = [round(i * n / parts / MIN_ROWS) * MIN_ROWS for i in range(parts)] + [n]
    pool = _workers(threads)
    return [f.result() for f in [pool.submit(fn, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]]


def search(
    x: torch.Tensor, centroids: torch.Tensor, m: int, chunk: int = CHUNK, precision: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The m nearest centroids of every row with exact squared distances, in blocks so memory stays flat.
    Returns (indices (n, m), squared distances (n, m), rows the bf16 pass handed to the float32 search)."""
    table = CentroidTable.build(centroids, x.device, _use_bf16(x, centroids, m, precision))
    bf16 = table.low is not None
    m = min(m, max(1, table.c.shape[0]))
    n = x.shape[0]
    idx = torch.empty((n, m), dtype=torch.long, device=x.device)
    d2 = torch.empty((n, m), device=x.device)
    first_est = _pilot_estimate(x, table) if bf16 else 0.0

    def rows(start: int, end: int) -> int:
        scratch, est, rechecked = Scratch(), first_est, 0
        for s in range(start, end, chunk):
            xb = x[s : min(s + chunk, end)].float()
            res = _search_block(xb, RowNorms(torch.linalg.vecdot(xb, xb)), table, m, est, True, scratch)
            idx[s : s + len(xb)], d2[s : s + len(xb)] = res.idx, res.d2
            rechecked += res.rechecked
            if bf16:
                est = float(res.d2[:, 0].median())
        return rechecked

    return idx, d2, sum(_map_rows(rows, n, x.device))


def nearest_two(x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto") -> Nearest:
    """Nearest and second-nearest centroid with exact distances (the second equals the first when k == 1)."""
    idx, d2, _ = search(x, centroids, 2, chunk, precision)
    if idx.shape[1] == 1:
        idx, d2 = idx.repeat(1, 2), d2.repeat(1, 2)
    dist = d2.sqrt()
    return Nearest(idx[:, 0], dist[:, 0], idx[:, 1], dist[:, 1])


def assign(
    x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid and its exact squared distance for every row."""
    idx, d2, _ = search(x, centroids, 1, chunk, precision)
    return idx[:, 0], d2[:, 0]
