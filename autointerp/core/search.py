"""Exact nearest-centroid search in torch (the k-means fit, the index build and every assignment run it).

Where the time goes: a nearest-centroid pass is one (n × d) · (d × k) matmul, 2·n·k·d flops; everything
else must stay small next to it. Two exact searches share one API (`search`):

- float32: oneDNN's matmul (per core on AMD EPYC: 2.2× the MKL sgemm behind `torch.addmm`, 1.5-1.9×
  faiss's BLAS),
  then a per-row minimum that costs about a tenth of torch's `min(dim)` (see `_argmin_rows`).
- bf16 with a proven re-check: the matmul in bfloat16 (2.3-2.6× the float32 kernel on AVX-512-bf16
  CPUs, more on AMX and GPUs) and, per row, a bound on its rounding error; only the centroids whose bf16
  score lies within the bound of the winner's can be nearer, and rows with more than the winner among
  them get those few candidates' distances in float32 (see `_search_block`). See `_use_bf16` for what
  `precision="auto"` picks: a timing of both kernels, once per machine. On CPUs the per-row steps run
  as compiled loops (`search_kernels`); the torch ops here serve GPUs and are the tests' reference.

Both return the float32 labels, up to ties within float32 rounding.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import json
import platform
import threading
import time
import types
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TypeVar

import torch

from autointerp.config import user_cache_dir
from autointerp.files import atomic_write_text

CHUNK = 4096  # rows per search block: its scores stay in the last-level cache (4096 measured best of 1-8k)
U_BF16 = 2.0**-8  # unit roundoff of bfloat16 (8 significant bits, round to nearest even)
U_F32 = 2.0**-24
ROW_PAD = 16  # bf16 rows are padded to a multiple of this, which the bf16 dot-product kernels prefer
LANES = 32  # see _argmin_rows; bf16 centroid tables are padded to a multiple of this
T = TypeVar("T")
NUMBA = importlib.util.find_spec("numba") is not None
# Compiled per-row loops for CPU blocks (`search_kernels`, numba); tests switch them off to compare.
KERNELS = NUMBA
_TORCH_ONLY = threading.local()  # set while the start-up timing measures the torch ops on its own thread


def _compiled(x: torch.Tensor) -> bool:
    return KERNELS and x.device.type == "cpu" and not getattr(_TORCH_ONLY, "on", False) and _kernels() is not None


def use_compiled_loops(enabled: bool) -> None:
    """Whether this process's CPU searches run the compiled loops (where numba is installed). The first
    large bf16 search then loads numba and LLVM, about 150 MB that stay resident: a process that must stay
    small turns them off (the dashboard's server, which builds in-process and then serves for hours; on the
    default build they save about a second) and gets the torch ops, its precision picked from their own
    timing (`KernelRates`)."""
    global KERNELS
    KERNELS = enabled and NUMBA


_LOADED: list[types.ModuleType | None] = []  # the one attempt to load the compiled loops, once made
_LOAD_LOCK = threading.Lock()


def _kernels() -> types.ModuleType | None:
    """The compiled loops, imported on the first compiled block (numba's import takes half a second), or
    None where they cannot load: numba raises at import when it finds no writable cache folder (read-only
    install and home), and the search then runs the torch ops. One attempt per process, under a lock: the
    search's worker threads reach here together."""
    if not _LOADED:
        with _LOAD_LOCK:
            if not _LOADED:
                try:
                    from autointerp.core import search_kernels
                except Exception as e:  # noqa: BLE001 - any failure to load leaves the torch ops
                    warnings.warn(f"compiled search loops unavailable, using torch ops: {e}", RuntimeWarning, 2)
                    _LOADED.append(None)
                else:
                    _LOADED.append(search_kernels)
    return _LOADED[0]


def _loops() -> types.ModuleType:
    loops = _kernels()
    assert loops is not None  # callers run only where `_compiled` said yes
    return loops


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


def search_precision(
    x: torch.Tensor, centroids: torch.Tensor, m: int = 1, precision: str = "auto", fit: bool = False
) -> str:
    """Which search `search(x, centroids, m, precision=precision)` runs, "bf16" or "f32", or with fit=True
    which one the k-means fit's assignment steps run (see `_use_bf16`)."""
    return "bf16" if _use_bf16(x, centroids, m, precision, fit) else "f32"


MIN_BF16_ROWS = 2048  # fewer rows: the bf16 table's set-up outweighs what its matmul saves
BF16_EDGE = 1.1  # the bf16 search must have run this much faster than float32 on this machine to be picked


def _use_bf16(x: torch.Tensor, centroids: torch.Tensor, m: int, precision: str, fit: bool = False) -> bool:
    """Which search to run. "auto": bf16 on GPUs; on CPUs bf16 where this machine ran a bf16 search block
    at least BF16_EDGE × as fast as a float32 one (`kernel_rates`, timed once per machine; a fit's
    assignment step, which needs no exact distances, separately), float32 otherwise and for small searches.
    Kernel speed alone does not decide it: the work around the bf16 matmul is memory-bound, so where the
    float32 kernel is already fast (Zen 5) it can eat the bf16 kernel's 2.3×, and where it is slow (Zen 4)
    it does not."""
    if precision not in ("auto", "bf16", "f32"):
        raise ValueError(f"precision must be 'auto', 'bf16' or 'f32', got {precision!r}")
    k = centroids.shape[0]
    if precision != "auto" or k < LANES:
        return precision == "bf16"
    if x.device.type != "cpu":
        return x.device.type == "cuda"
    if len(x) < MIN_BF16_ROWS:
        return False
    rates = kernel_rates()
    if KERNELS:
        bf16 = rates.bf16_fit if fit else rates.bf16_search
    else:
        bf16 = rates.bf16_fit_torch if fit else rates.bf16_search_torch
    return bf16 >= BF16_EDGE * rates.f32_search


@dataclass
class KernelRates:
    """One core's GFLOP/s at a search block's shape (4096 × 576 · 576 × 1024): the two matmul kernels,
    and the whole block searches on synthetic clustered unit vectors (about a fifth of the rows doubtful
    in the bf16 pass, as on real activations)."""

    f32: float  # oneDNN float32 kernel (what the float32 search calls)
    bf16: float  # torch.mm in bf16 (what the bf16 search calls)
    f32_search: float
    bf16_search: float  # with exact distances, as `search` returns them
    bf16_fit: float  # a fit's assignment step: no exact distances, row norms cached
    bf16_search_torch: float  # the same two with the torch ops (`use_compiled_loops(False)`, or no numba)
    bf16_fit_torch: float
    machine: str


KERNELS_FILE = "search-kernels-v4.json"


@functools.cache
def kernel_rates() -> KernelRates:
    """This machine's kernel rates: read from the user cache (one entry per CPU model, torch version and
    instruction set), or timed once (about half a second) and stored there."""
    path = user_cache_dir() / KERNELS_FILE
    key = _machine_key()
    stored: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text())
        stored = loaded if isinstance(loaded, dict) else {}
    entry = stored.get(key)
    if isinstance(entry, dict):
        with contextlib.suppress(TypeError):
            return KernelRates(**entry)
    rates = _workers(1).submit(_time_kernels, key).result()
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps({**stored, key: asdict(rates)}, indent=1))
    return rates


def _machine_key() -> str:
    info: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            info.setdefault(name.strip(), value.strip())
    cpu = info.get("model name", platform.processor())
    family = f"family {info.get('cpu family', '?')} model {info.get('model', '?')}"
    return f"{cpu} ({family}); torch {torch.__version__}; {torch.backends.cpu.get_cpu_capability()}"


def _time_kernels(key: str, rows: int = CHUNK, d: int = 576, k: int = 1024, reps: int = 3) -> KernelRates:
    """Best of `reps` thread-CPU-time runs of each kernel and block search, interleaved, on this
    single-threaded worker: CPU time, not wall clock, so other tenants' load does not decide the path."""
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(64, d, generator=g)
    x = centres[torch.randint(0, 64, (rows,), generator=g)] + torch.randn(rows, d, generator=g)
    x = torch.nn.functional.normalize(x, dim=1)
    c = x[torch.randperm(rows, generator=g)[:k]] + 0.1 * torch.randn(k, d, generator=g)
    c = torch.nn.functional.normalize(c, dim=1)
    xb, cb = x.bfloat16(), c.bfloat16().t()
    f32, low = CentroidTable.build(c, x.device, False), CentroidTable.build(c, x.device, True)
    norms, fit_norms, scratch = RowNorms(torch.linalg.vecdot(x, x)), RowNorms.of(x, True), Scratch()
    est = _pilot_estimate(x, low)
    runs: dict[str, Callable[[], object]] = {
        "f32": lambda: _f32_scores(x, f32),
        "bf16": lambda: torch.mm(xb, cb),
        "f32_search": lambda: _search_block(x, norms, f32, 1, 0.0, True, scratch),
        "bf16_search": lambda: _search_block(x, norms, low, 1, est, True, scratch),
        "bf16_fit": lambda: _search_block(x, fit_norms, low, 1, est, False, scratch),
    }
    runs["bf16_search_torch"] = _torch_ops(runs["bf16_search"])
    runs["bf16_fit_torch"] = _torch_ops(runs["bf16_fit"])
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(reps + 1):  # the first round warms up
        for name, fn in runs.items():
            t = time.thread_time()
            fn()
            best[name] = min(best[name], time.thread_time() - t)
    gflop = 2.0 * rows * d * k / 1e9
    rates = {name: gflop / max(t, 1e-9) for name, t in best.items()}
    return KernelRates(**rates, machine=key)


def _torch_ops(fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        _TORCH_ONLY.on = True
        try:
            return fn()
        finally:
            _TORCH_ONLY.on = False

    return run


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
    spread: torch.Tensor | None = None  # (k,) G_b ≥ max_j ‖γ_j - γ_b‖ (γ = c - c̃), bf16 only
    tilt: torch.Tensor | None = None  # (k,) P_b ≥ max_j |c_b·(γ_j - γ_b)|, bf16 only
    pairs: PairTables | None = None  # bf16 only, for k ≤ PAIR_TABLE_K

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
        table = cls(c, sq, m2, low, norm, resid, top, float(resid.max()) if k else 0.0, onednn)
        if bf16 and k:
            table.spread, table.tilt, table.pairs = _pair_bounds(c, c - ct.float(), norm, resid)
        return table


PAIR_LIMIT = 1 << 24  # k² above this: the pair bounds fall back to the triangle inequality
PAIR_TABLE_K = 2048  # up to this k the k × k pair tables are kept (3 · 4k² bytes: 48 MiB at 2048)


@dataclass
class PairTables:
    """Upper bounds per centroid pair (b, j): ‖c_j - c_b‖, ‖γ_j - γ_b‖ and |c_b·(γ_j - γ_b)|, γ = c - c̃.
    They bound the bf16 error of one score difference without the window's worst case over j, which
    settles most candidates of a doubtful row without any dot product (`_prune`)."""

    dist: torch.Tensor
    spread: torch.Tensor
    tilt: torch.Tensor


def _pair_bounds(
    c: torch.Tensor, gamma: torch.Tensor, cn: torch.Tensor, gn: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, PairTables | None]:
    """Per centroid b: G_b ≥ max_j ‖γ_j - γ_b‖ and P_b ≥ max_j |c_b·(γ_j - γ_b)|, from k × k float32
    products plus their own worst-case rounding (2d·u per dot product, relative to the norms). Costs
    k/n of one search pass; rounding errors of different centroids are nearly orthogonal, so G_b is
    about √2 ‖γ‖, not the 2 ‖γ‖ of the triangle inequality, and P_b is a few ‖γ‖/√d. For k up to
    PAIR_TABLE_K the pairwise values themselves are kept too (`PairTables`)."""
    k, d = c.shape
    slack = 2.0 * d * U_F32 / (1 - 2.0 * d * U_F32)
    gmax = gn.max()
    if k * k > PAIR_LIMIT:
        spread = gn + gmax
        return spread * 1.001, cn * spread * 1.001, None
    keep = k <= PAIR_TABLE_K
    pairs = PairTables(*(torch.empty((k, k), device=c.device) for _ in range(3))) if keep else None
    spread, tilt = torch.empty_like(gn), torch.empty_like(gn)
    self_tilt = (c * gamma).sum(1)
    for s in range(0, k, 1024):
        e = min(s + 1024, k)
        gg = gamma[s:e] @ gamma.t()
        g_pair = (gn[s:e, None] ** 2 + gn[None] ** 2 - 2 * gg + 2 * slack * gn[s:e, None] * gn[None]).clamp_min_(0)
        g_pair = g_pair.sqrt_().mul_(1.001).add_(1e-30)
        t_pair = (c[s:e] @ gamma.t() - self_tilt[s:e, None]).abs_()
        t_pair = t_pair.add_(slack * cn[s:e, None] * (gn[None] + gn[s:e, None])).mul_(1.001).add_(1e-30)
        spread[s:e], tilt[s:e] = g_pair.amax(1), t_pair.amax(1)
        if pairs is not None:
            cc = c[s:e] @ c.t()
            dist = cn[s:e, None] ** 2 + cn[None] ** 2 - 2 * cc + 2 * slack * cn[s:e, None] * cn[None]
            pairs.dist[s:e] = dist.clamp_min_(0).sqrt_().mul_(1.001).add_(1e-30)
            pairs.spread[s:e], pairs.tilt[s:e] = g_pair, t_pair
    return spread, tilt, pairs


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
    rechecked: int = 0  # rows whose bf16 window held more than their winners: candidates re-scored exactly
    pairs: int = 0  # (row, centroid) scores re-computed exactly for them


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
    sq: torch.Tensor  # (rows,) ‖x‖²


def _low_scores(
    x: torch.Tensor, norms: RowNorms | None, low_table: torch.Tensor, est: torch.Tensor | float, scratch: Scratch
) -> LowScores:
    """O_j = ‖c_j‖² - 2x·c_j + σ for every row and centroid in one bf16 matmul (see `CentroidTable`).
    Without norms, the row norms are computed here, with the conversion to bf16."""
    r, d = x.shape
    low = scratch.get("low", (r, low_table.shape[1]), torch.bfloat16, x.device)
    if (norms is None or norms.resid is None) and _compiled(x) and x.dtype == torch.float32:
        # One compiled pass converts and measures (a fit's cached norms need only torch's faster copy).
        xc = x.contiguous()
        sq, rounding = torch.empty(r), torch.empty(r)
        bits = xc.view(torch.int32).numpy().view("uint32")
        out = low.view(torch.int16).numpy().view("uint16")
        row = scratch.get("row", (d,), torch.int32, x.device).numpy().view("uint32")
        _loops().to_bf16_rows(xc.numpy(), bits, out, sq.numpy(), rounding.numpy(), row)
        norms = RowNorms(sq if norms is None else norms.sq, rounding)
    else:
        low[:, :d].copy_(x)
        norms = norms if norms is not None else RowNorms(torch.linalg.vecdot(x, x))
    low[:, d : d + 2] = 1
    low[:, d + 2] = norms.sq - est  # σ, rounded to bf16: any shift works, it is the same for every j
    low[:, d + 3 :] = 0
    if norms.resid is None:
        xt = scratch.get("xt", x.shape, torch.float32, x.device)
        norms = RowNorms(norms.sq, torch.linalg.vector_norm(xt.copy_(low[:, :d]).sub_(x), dim=1))
    resid = norms.resid
    assert resid is not None
    o = _low_matmul(low, low_table, scratch.get("o", (r, low_table.shape[0]), torch.bfloat16, x.device))
    scores = scratch.get("scores", o.shape, torch.float32, x.device).copy_(o)
    low_norm = norms.sq.sqrt() + resid  # ≥ ‖x̃‖ (triangle inequality)
    return LowScores(scores, low[:, d + 2].float(), resid, low_norm, low.shape[1], norms.sq)


@dataclass
class Window:
    """Per row: the window W, an upper bound on the distance to the bf16 pick, and the rounding terms."""

    width: torch.Tensor
    dist: torch.Tensor
    rounding: torch.Tensor


def _window(low: LowScores, table: CentroidTable, v: torch.Tensor, b: torch.Tensor) -> Window:
    """W per row: every centroid at least as near to x as the row's bf16 pick b (score v) scores at most
    W above b, so any centroid scoring more than W above b is provably farther (see `_search_block`).

    For such a centroid j (d_j ≤ d_b) the bf16 error of the difference of the two scores is
    2ξ·(c_j - c_b) + 2x̃·(γ_j - γ_b), x = x̃ + ξ and c = c̃ + γ the bf16 roundings. Since
    ‖c_j - c_b‖ ≤ d_j + d_b ≤ 2d_b, the first term is at most 4‖ξ‖d_b; the second is
    2(x̃ - c_b)·(γ_j - γ_b) + 2c_b·(γ_j - γ_b) ≤ 2(d_b + ‖ξ‖)G_b + 2P_b (`_pair_bounds`). d_b itself is
    bounded above from b's own score and that score's cruder error. Added: float32 sums of `width`
    products (γ_n, n generous), the two-part squared norm, and bf16's output rounding (relative, u)."""
    eps = U_BF16 / (1 - U_BF16)
    n_acc = 2 * low.width
    gamma = n_acc * U_F32 / (1 - n_acc * U_F32)
    big = table.max_norm
    sums = 2 * gamma * (2 * low.low_norm * big * (1 + U_BF16) + big * big * (1 + U_BF16) + low.sigma.abs())
    norms_split = 2 * (U_BF16**2 + table.c.shape[1] * U_F32 * 1.01) * big * big  # and ‖c‖²'s own float32 error
    rounding = sums + norms_split + 2 * eps * v.abs()
    assert table.spread is not None and table.tilt is not None
    single = 2 * low.resid * table.norm[b] + 2 * low.low_norm * table.resid[b] + rounding
    xsq = low.sq * (1 + table.c.shape[1] * U_F32 * 1.01)
    d_b = (v - low.sigma + xsq + single / (1 - eps) * 1.001).clamp_min(0).sqrt()
    inputs = 4 * low.resid * d_b + 2 * (d_b + low.resid) * table.spread[b] + 2 * table.tilt[b]
    return Window((inputs + rounding) / (1 - eps) * 1.001 + 1e-30, d_b, rounding)


def _lane_top2(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of s (columns a multiple of LANES): the smallest value, a column holding it, and the second
    smallest value, in one pass over s (see `_argmin_rows`): the runner-up is the second-smallest lane
    minimum or the second-smallest member of the winning lane. Ties give a zero gap, which the bf16
    pass re-scores exactly, so which tied column comes back does not matter."""
    r, k = s.shape
    grid = s.view(r, k // LANES, LANES)
    lane_min = grid.amin(1)
    v1, lane = lane_min.min(1)
    members = grid.gather(2, lane.view(r, 1, 1).expand(r, grid.shape[1], 1)).squeeze(2)
    group = members.argmin(1)
    rows = torch.arange(r, device=s.device)
    lane_min[rows, lane] = float("inf")
    members[rows, group] = float("inf")
    return v1, group * LANES + lane, torch.minimum(lane_min.amin(1), members.amin(1))


def _lane_minima(s: torch.Tensor) -> torch.Tensor:
    """(rows, LANES): the smallest score of each lane (column j is in lane j mod LANES)."""
    return s.view(len(s), s.shape[1] // LANES, LANES).amin(1)


def _top2(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """`_lane_top2`, on CPU as one compiled pass after torch's lane minima (`search_kernels`), which it
    returns too (the re-check looks for candidates only in lanes whose minimum is under the threshold)."""
    if not _compiled(s):
        return (*_lane_top2(s), None)
    r, lane_min = len(s), _lane_minima(s)
    v1, b1, v2 = torch.empty(r), torch.empty(r, dtype=torch.long), torch.empty(r)
    _loops().top2_from_lanes(s.numpy(), lane_min.numpy(), v1.numpy(), b1.numpy(), v2.numpy())
    return v1, b1, v2, lane_min


@dataclass
class Certified:
    """One block's bf16 verdict: the bf16 top m (columns, scores), the rows it does not settle, per row
    the threshold under which the exact top m are sure to lie, and the first place's window."""

    idx: torch.Tensor
    vals: torch.Tensor
    unsure: torch.Tensor
    thr: torch.Tensor
    window: Window
    lane_min: torch.Tensor | None = None  # (rows, LANES) per-lane minimum scores, from the compiled top two


def _certify(low: LowScores, table: CentroidTable, m: int) -> Certified:
    """The bf16 top m of each row and which rows that settles (`_window`)."""
    if m == 1:
        v1, b1, v2, lanes = _top2(low.scores)
        w = _window(low, table, v1, b1)
        return Certified(b1.unsqueeze(1), v1.unsqueeze(1), (v2 - v1) <= w.width, v1 + w.width, w, lanes)
    if _compiled(low.scores):
        return _certify_two_compiled(low, table)
    vals, idx = _smallest(low.scores, 2)
    low.scores.view(-1)[torch.arange(len(idx), device=idx.device) * low.scores.shape[1] + idx[:, 0]] = vals[:, 0]
    w1 = _window(low, table, vals[:, 0], idx[:, 0])
    thr = vals[:, 1] + torch.maximum(w1.width, _window(low, table, vals[:, 1], idx[:, 1]).width)
    crowded = (low.scores <= thr.unsqueeze(1)).sum(1) > 2
    return Certified(idx, vals, crowded | ((vals[:, 1] - vals[:, 0]) <= w1.width), thr, w1)


def _certify_two_compiled(low: LowScores, table: CentroidTable) -> Certified:
    """`_certify` for m = 2 from one compiled pass (`search_kernels.top3_from_lanes`): more than two
    scores under the threshold is the third smallest being under it."""
    s = low.scores
    r, lanes = len(s), _lane_minima(s)
    v1, v2, v3 = torch.empty(r), torch.empty(r), torch.empty(r)
    b1, b2 = torch.empty(r, dtype=torch.long), torch.empty(r, dtype=torch.long)
    _loops().top3_from_lanes(s.numpy(), lanes.numpy(), v1.numpy(), b1.numpy(), v2.numpy(), b2.numpy(), v3.numpy())
    w1 = _window(low, table, v1, b1)
    thr = v2 + torch.maximum(w1.width, _window(low, table, v2, b2).width)
    unsure = (v3 <= thr) | ((v2 - v1) <= w1.width)
    return Certified(torch.stack([b1, b2], 1), torch.stack([v1, v2], 1), unsure, thr, w1, lanes)


def _prune(low: LowScores, table: CentroidTable, cert: Certified, rows: torch.Tensor, rc: torch.Tensor) -> torch.Tensor:
    """Which candidate pairs (rows[rc[:, 0]], rc[:, 1]) of m = 1 rows could still beat the row's bf16 pick b:
    b itself, and every j whose score lead over b is within the pair's own bound
    2‖ξ‖‖c_j - c_b‖ + 2(d_b + ‖ξ‖)‖γ_j - γ_b‖ + 2|c_b·(γ_j - γ_b)| + rounding (as in `_window`, with the
    pair's values instead of the worst case over j). Every other j is provably farther than b."""
    pairs = table.pairs
    assert pairs is not None
    row = rows[rc[:, 0]]
    col = rc[:, 1]
    b = cert.idx[row, 0]
    xi = low.resid[row]
    w = cert.window
    lead = low.scores[row, col] - cert.vals[row, 0]
    eps = U_BF16 / (1 - U_BF16)
    bound = 2 * xi * pairs.dist[b, col] + 2 * (w.dist[row] + xi) * pairs.spread[b, col] + 2 * pairs.tilt[b, col]
    bound = (bound + w.rounding[row] + eps * low.scores[row, col].abs()) / (1 - eps) * 1.001 + 1e-30
    return (col == b) | (lead <= bound)


CANDIDATES = 64  # rows with more candidates than this are searched again in full in float32


def _rescore(
    x: torch.Tensor, low: LowScores, table: CentroidTable, cert: Certified, redo: torch.Tensor, scratch: Scratch
) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """The exact top m of rows `redo`, from the candidates under their threshold: ‖x - c‖² in float32
    (as accurate as the float32 search's ‖c‖² - 2x·c, or more), nearest first, ties to the lowest column.
    For m = 1 with pair tables, `_prune` first drops the candidates that provably lose to the bf16 pick.
    Returns columns, squared distances, rows left with more than one candidate, pairs scored for them."""
    m = cert.idx.shape[1]
    if cert.lane_min is not None:
        return _rescore_compiled(x, low, table, cert, redo)
    hit = low.scores.index_select(0, redo) <= cert.thr[redo].unsqueeze(1)
    counts = hit.sum(1)
    idx = torch.empty((len(redo), m), dtype=torch.long, device=x.device)
    d2 = torch.empty((len(redo), m), device=x.device)
    few = (counts <= CANDIDATES).nonzero().flatten()
    many = (counts > CANDIDATES).nonzero().flatten()
    pairs, doubtful = 0, 0
    if len(few):
        rc = hit.index_select(0, few).nonzero()  # row-major: by row, then column
        if m == 1 and table.pairs is not None:
            rc = rc[_prune(low, table, cert, redo[few], rc)]
        shape = (len(rc), x.shape[1])
        diff = torch.index_select(x, 0, redo[few][rc[:, 0]], out=scratch.get("pair_x", shape, x.dtype, x.device))
        diff.sub_(torch.index_select(table.c, 0, rc[:, 1], out=scratch.get("pair_c", shape, x.dtype, x.device)))
        vals = torch.linalg.vecdot(diff, diff)
        order = torch.argsort(vals, stable=True)
        order = order[torch.argsort(rc[order, 0], stable=True)]  # by row, then distance, then column
        n_row = torch.bincount(rc[:, 0], minlength=len(few))
        pos = (n_row.cumsum(0) - n_row).unsqueeze(1) + torch.arange(m, device=x.device)
        idx[few], d2[few] = rc[order, 1][pos], vals[order][pos]
        doubtful = int((n_row > m).sum())
        pairs = int(n_row[n_row > m].sum())
    if len(many):
        rows = redo[many]
        xr = x.index_select(0, rows)
        vals, cols = _smallest(_f32_scores(xr, table), m)
        idx[many], d2[many] = cols, vals + torch.linalg.vecdot(xr, xr).unsqueeze(1)
        pairs += len(many) * table.c.shape[0]
    return idx, d2, doubtful + len(many), pairs


def _rescore_compiled(
    x: torch.Tensor, low: LowScores, table: CentroidTable, cert: Certified, redo: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """`_rescore` on CPU: one compiled loop per doubtful row (`search_kernels.refine_one` / `refine_two`)."""
    n, m = len(redo), cert.idx.shape[1]
    idx, d2 = torch.empty((n, m), dtype=torch.long), torch.empty((n, m))
    scored = torch.empty(n, dtype=torch.long)
    assert cert.lane_min is not None
    head = (low.scores.numpy(), cert.lane_min.numpy(), cert.thr.numpy(), redo.numpy(), x.contiguous().numpy())
    if m == 2:
        _loops().refine_two(*head, table.c.numpy(), idx.numpy(), d2.numpy(), scored.numpy())
    else:
        w = cert.window
        none = torch.empty((0, 0))
        pairs = table.pairs
        pdist, pspread, ptilt = (pairs.dist, pairs.spread, pairs.tilt) if pairs is not None else (none, none, none)
        _loops().refine_one(
            *head, table.c.numpy(), cert.idx[:, 0].contiguous().numpy(), cert.vals[:, 0].contiguous().numpy(),
            low.resid.numpy(), w.dist.numpy(), w.rounding.numpy(), pdist.numpy(), pspread.numpy(), ptilt.numpy(),
            U_BF16 / (1 - U_BF16), idx[:, 0].numpy(), d2[:, 0].numpy(), scored.numpy(),
        )  # fmt: skip
    doubtful = scored > m
    return idx, d2, int(doubtful.sum()), int(scored[doubtful].sum())


def _search_block(
    x: torch.Tensor,
    norms: RowNorms | None,
    table: CentroidTable,
    m: int,
    est: torch.Tensor | float,
    exact_d2: bool,
    scratch: Scratch,
) -> BlockResult:
    """The m (1 or 2) nearest centroids of each row of x, equal to the float32 search.

    float32 (`table.low` None): the scores ‖c‖² - 2x·c in one matmul, then the m smallest per row.

    bf16: O_j = ‖c_j‖² - 2x·c_j + σ in one bf16 matmul, σ = ‖x‖² - est, so that near the winner
    O ≈ d²_j - est is small and so is bf16's (relative) output rounding. `_window` gives per row a
    W such that every centroid at least as near as the bf16 winner b scores at most W above b: the
    exact nearest centroid is among the candidates scoring at most O_b + W (for m = 2, the exact two
    nearest among those at most W above the bf16 second, with W the larger of the two winners').
    A row with no candidate but its winner(s) keeps the bf16 answer, which is then provably the
    exact one; the other rows' candidates (a few per row) get float32 distances (`_rescore`),
    so a doubtful row costs a few dot products, not a float32 search of all k centroids.
    Without norms, the row norms are computed here."""
    m = min(m, table.c.shape[0])
    if table.low is None:
        vals, idx = _smallest(_f32_scores(x, table), m)
        sq = norms.sq if norms is not None else torch.linalg.vecdot(x, x)
        return BlockResult(idx, (vals + sq.unsqueeze(1)).clamp_min(0))
    low = _low_scores(x, norms, table.low, est, scratch)
    xsq = low.sq.unsqueeze(1)
    cert = _certify(low, table, m)
    idx = cert.idx
    d2 = cert.vals - low.sigma.unsqueeze(1) + xsq
    redo = cert.unsure.nonzero().flatten()
    doubtful, pairs = 0, 0
    if len(redo):
        idx[redo], d2[redo], doubtful, pairs = _rescore(x, low, table, cert, redo, scratch)
    if exact_d2:  # one formula for every row, whichever the bf16 pass settled (results do not depend on σ)
        dots = torch.stack([_row_dots(x, table.c, idx[:, j], scratch) for j in range(m)], 1)
        d2 = xsq + table.sq[idx] - 2 * dots
    return BlockResult(idx, d2.clamp_min(0), doubtful, pairs)


def _row_dots(x: torch.Tensor, c: torch.Tensor, cols: torch.Tensor, scratch: Scratch) -> torch.Tensor:
    """x[p] · c[cols[p]] for every row p, gathering into a reused buffer (or compiled, on CPU)."""
    if _compiled(x):
        out = torch.empty(len(x))
        _loops().row_dots(x.contiguous().numpy(), c.numpy(), cols.contiguous().numpy(), out.numpy())
        return out
    g = torch.index_select(c, 0, cols, out=scratch.get("gather", x.shape, torch.float32, x.device))
    return g.mul_(x).sum(1)


def add_rows(sums: torch.Tensor, labels: torch.Tensor, x: torch.Tensor) -> None:
    """sums[labels[p]] += x[p] for every row p: a k-means step's cluster sums, block by block."""
    if _compiled(x) and x.dtype == sums.dtype == torch.float32 and x.is_contiguous():
        _loops().add_rows(sums.numpy(), labels.contiguous().numpy(), x.numpy())
    else:
        sums.index_add_(0, labels, x.to(sums.dtype))


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
            caller = torch.get_num_threads()

            def single_threaded() -> None:
                torch.get_num_threads()  # torch's lazy per-thread setup first, or it would undo the next line
                torch.set_num_threads(1)  # per thread (OpenMP ICV), but also the default for new threads
                barrier.wait()

            for f in [pool.submit(single_threaded) for _ in range(threads)]:
                f.result()
            torch.set_num_threads(caller)  # restore the default for new threads, and this thread's own count
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


@dataclass
class Recheck:
    """What the bf16 pass left to exact arithmetic: rows with a candidate besides their bf16 winner(s)
    inside the bound, and the (row, centroid) distances computed exactly for them (a row searched
    again in full counts k). pairs / (n·k) is the share of a float32 search's work redone."""

    rows: int = 0
    pairs: int = 0

    def __add__(self, other: Recheck) -> Recheck:
        return Recheck(self.rows + other.rows, self.pairs + other.pairs)


@dataclass
class Hint:
    """What a caller already knows about the rows: their norms (with the bf16 rounding residuals) and a
    close estimate of each row's nearest squared distance (a k-means fit's last step), which makes the
    bf16 pass's shift per row instead of per block, so fewer rows are doubtful."""

    norms: RowNorms
    est: torch.Tensor


def search(
    x: torch.Tensor,
    centroids: torch.Tensor,
    m: int,
    chunk: int = CHUNK,
    precision: str = "auto",
    hint: Hint | None = None,
) -> tuple[torch.Tensor, torch.Tensor, Recheck]:
    """The m nearest centroids of every row with exact squared distances, in blocks so memory stays flat.
    Returns (indices (n, m), squared distances (n, m), what the bf16 pass re-checked exactly)."""
    table = cached_table(centroids, x.device, _use_bf16(x, centroids, m, precision))
    bf16 = table.low is not None
    m = min(m, max(1, table.c.shape[0]))
    n = x.shape[0]
    idx = torch.empty((n, m), dtype=torch.long, device=x.device)
    d2 = torch.empty((n, m), device=x.device)
    first_est = _pilot_estimate(x, table) if bf16 and hint is None else 0.0

    def rows(start: int, end: int) -> Recheck:
        scratch, rechecked = Scratch(), Recheck()
        est: torch.Tensor | float = first_est
        for s in range(start, end, chunk):
            e = min(s + chunk, end)
            xb = x[s:e].float()
            norms = None  # computed with the block's conversion to bf16 (see `_low_scores`)
            if hint is not None:
                norms, est = hint.norms.slice(s, e), hint.est[s:e]
            res = _search_block(xb, norms, table, m, est, True, scratch)
            idx[s:e], d2[s:e] = res.idx, res.d2
            rechecked += Recheck(res.rechecked, res.pairs)
            if bf16 and hint is None:
                est = float(res.d2[:, 0].median())
        return rechecked

    return idx, d2, sum(_map_rows(rows, n, x.device), Recheck())


_TABLES: list[tuple[torch.Tensor, bool, CentroidTable]] = []
_TABLES_LOCK = threading.Lock()


def cached_table(centroids: torch.Tensor, device: torch.device, bf16: bool) -> CentroidTable:
    """`CentroidTable.build`, kept for the last few centroid sets: an index build searches one set batch
    after batch, and the bf16 table's pair bounds cost about k/4096 of a 4k-row batch's search. A hit
    needs equal values (one k·d comparison) on the same device and precision."""
    device = torch.device(device)
    with _TABLES_LOCK:
        for c, low, table in _TABLES:
            same = low == bf16 and c.device == device and c.shape == centroids.shape
            if same and torch.equal(c, centroids.to(device, torch.float32)):
                return table
    table = CentroidTable.build(centroids, device, bf16)
    with _TABLES_LOCK:
        _TABLES.insert(0, (table.c.clone(), bf16, table))
        del _TABLES[4:]
    return table


def nearest_two(x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto") -> Nearest:
    """Nearest and second-nearest centroid with exact distances (the second equals the first when k == 1)."""
    idx, d2, _ = search(x, centroids, 2, chunk, precision)
    if idx.shape[1] == 1:
        idx, d2 = idx.repeat(1, 2), d2.repeat(1, 2)
    dist = d2.sqrt()
    return Nearest(idx[:, 0], dist[:, 0], idx[:, 1], dist[:, 1])


def assign(
    x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto", hint: Hint | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid and its exact squared distance for every row."""
    idx, d2, _ = search(x, centroids, 1, chunk, precision, hint)
    return idx[:, 0], d2[:, 0]
