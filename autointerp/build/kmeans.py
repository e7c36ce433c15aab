"""k-means in torch: k-means++ seeding, Lloyd iterations on the exact nearest-centroid search of
`autointerp.core.search`, empty-cluster repair, spherical mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch

from autointerp.core.search import (
    CHUNK,
    CentroidTable,
    Hint,
    RowNorms,
    Scratch,
    _map_rows,
    _pilot_estimate,
    _search_block,
    _use_bf16,
    add_rows,
    assign,
)

INIT_SAMPLE = 20_000


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """D²-weighted seeding; each step is one matvec, so the whole seeding costs about one Lloyd pass.
    The step's arithmetic runs in place in two preallocated vectors: allocating four temporaries a step
    took a third of the seeding (measured), and the values are the same bit for bit."""
    n = x.shape[0]
    first = int(torch.randint(n, (1,), generator=generator).item())
    centers = torch.empty((k, x.shape[1]), dtype=torch.float32, device=x.device)
    centers[0] = x[first]
    x_sq = (x * x).sum(1)
    d2 = (x_sq - 2 * x @ centers[0] + centers[0].dot(centers[0])).clamp_min(0)
    dist, weights = torch.empty_like(d2), torch.empty_like(d2)
    for j in range(1, k):
        total = d2.sum()
        if total <= 0:
            idx = int(torch.randint(n, (1,), generator=generator).item())
        else:
            torch.div(d2, total, out=weights)
            idx = int(torch.multinomial(weights.cpu(), 1, generator=generator).item())
        centers[j] = x[idx]
        torch.mv(x, centers[j], out=dist)  # then x_sq - 2 x·c + c·c, in the same order
        dist.mul_(-2).add_(x_sq).add_(centers[j].dot(centers[j])).clamp_min_(0)
        torch.minimum(d2, dist, out=d2)
    return centers


@dataclass
class KMeansResult:
    centroids: torch.Tensor
    labels: torch.Tensor
    counts: torch.Tensor
    inertia: float
    iterations: int
    reseeded: int


@dataclass
class ShardStats:
    """Sufficient statistics of one Lloyd step on one shard; shards reduce by addition."""

    sums: torch.Tensor  # (k, d)
    counts: torch.Tensor  # (k,)
    changed: int
    inertia: float  # within the bf16 error bound on the bf16 path (the final inertia comes from `labels`)
    worst_d2: torch.Tensor  # (m,) the shard's largest squared distances, for empty-cluster repair
    worst_x: torch.Tensor  # (m, d) the matching points
    rechecked: int = 0  # rows the bf16 pass left with candidates besides their winner (re-scored)


@dataclass
class StepCache:
    """What a shard reuses across Lloyd iterations: per-point norms, each point's last squared distance
    (the bf16 pass's shift σ, see `_search_block`) and the scratch buffers."""

    precision: str = "auto"
    bf16: bool | None = None  # chosen on the first step
    norms: RowNorms | None = None
    est: torch.Tensor | None = None
    scratch: dict[int, Scratch] = field(default_factory=dict)


class Shards(Protocol):
    """Where the points live: one tensor in this process, or many Ray actors."""

    def size(self) -> int: ...

    def rows(self, index: torch.Tensor) -> torch.Tensor: ...

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]: ...

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]: ...


def shard_step(
    x: torch.Tensor,
    labels: torch.Tensor,
    centroids: torch.Tensor,
    n_worst: int,
    cache: StepCache | None = None,
    chunk: int = CHUNK,
) -> tuple[ShardStats, torch.Tensor]:
    """One Lloyd assignment on a shard (labels equal an exact search); returns its statistics and its new
    labels. Each block's points are added to the cluster sums while they are still in cache."""
    cache = cache if cache is not None else StepCache()
    k = centroids.shape[0]
    if cache.bf16 is None:
        cache.bf16 = _use_bf16(x, centroids, 1, cache.precision, fit=True)
    table = CentroidTable.build(centroids, x.device, cache.bf16)
    bf16 = table.low is not None
    if cache.norms is None or (bf16 and cache.norms.resid is None):
        cache.norms = RowNorms.of(x, bf16)
    norms = cache.norms
    est: torch.Tensor | float = 0.0
    if bf16:
        est = cache.est if cache.est is not None else _pilot_estimate(x, table)
    n = x.shape[0]
    new_labels = torch.empty(n, dtype=torch.long, device=x.device)
    d2 = torch.empty(n, device=x.device)

    def rows(start: int, end: int) -> tuple[torch.Tensor, int]:
        sums, rechecked = torch.zeros_like(table.c), 0
        scratch = cache.scratch.setdefault(start, Scratch())  # one per worker range, kept across steps
        for s in range(start, end, chunk):
            e = min(s + chunk, end)
            xb = x[s:e]
            est_b = est[s:e] if isinstance(est, torch.Tensor) else est
            res = _search_block(xb, norms.slice(s, e), table, 1, est_b, False, scratch)
            new_labels[s:e], d2[s:e] = res.idx[:, 0], res.d2[:, 0]
            add_rows(sums, res.idx[:, 0], xb)
            rechecked += res.rechecked
        return sums, rechecked

    parts = _map_rows(rows, n, x.device)
    sums = parts[0][0]
    for part, _ in parts[1:]:
        sums += part
    rechecked = sum(r for _, r in parts)
    cache.est = d2 if bf16 else None
    changed = int((new_labels != labels).sum())
    counts = torch.bincount(new_labels, minlength=k)
    m = min(n_worst, n)
    worst = torch.topk(d2, k=m).indices
    stats = ShardStats(sums, counts, changed, float(d2.sum()), d2[worst], x[worst], rechecked)
    return stats, new_labels


class LocalShards:
    """All points in one tensor (CPU or GPU)."""

    def __init__(self, x: torch.Tensor, precision: str = "auto"):
        self.x = x.float().contiguous()
        self._labels = torch.full((len(self.x),), -1, dtype=torch.long, device=self.x.device)
        self.precision = precision
        self._cache = StepCache(precision)

    def size(self) -> int:
        return len(self.x)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        return self.x[index.to(self.x.device)]

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]:
        stats, self._labels = shard_step(self.x, self._labels, centroids, n_worst, self._cache)
        return [stats]

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        cache, self._cache = self._cache, StepCache(self.precision)  # the fit is over: free its buffers
        # The last step's norms and distances make the final pass's bf16 shift per row (see `Hint`).
        hint = Hint(cache.norms, cache.est) if cache.norms is not None and cache.est is not None else None
        labels, d2 = assign(self.x, centroids, precision=self.precision, hint=hint)
        return labels, float(d2.sum())


def fit_kmeans(
    x: torch.Tensor,
    k: int,
    iters: int = 25,
    seed: int = 0,
    spherical: bool = False,
    tol: float = 1e-4,
    init: torch.Tensor | None = None,
    progress: Callable[[int, int], None] | None = None,
    precision: str = "auto",
) -> KMeansResult:
    """Lloyd's algorithm on one tensor. See `fit_sharded` for the algorithm and `search` for `precision`."""
    return fit_sharded(LocalShards(x, precision), k, iters, seed, spherical, tol, init, progress)


def fit_sharded(
    shards: Shards,
    k: int,
    iters: int = 25,
    seed: int = 0,
    spherical: bool = False,
    tol: float = 1e-4,
    init: torch.Tensor | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> KMeansResult:
    """k-means++ seeding on a seeded subsample, then Lloyd iterations reduced from per-shard sums and
    counts. Empty clusters are re-seeded with the points worst served by their centroid. The same
    code serves one tensor and a cluster of Ray workers, so both give the same result up to float
    summation order."""
    n = shards.size()
    if n < k:
        raise ValueError(f"cannot fit {k} clusters to {n} points")
    gen = torch.Generator().manual_seed(seed)
    if init is not None:
        centroids = init.clone().float()
    else:
        # Seeding on a subsample: full-data k-means++ costs K passes over N and dominated fit time.
        m = min(n, max(INIT_SAMPLE, 64 * k))
        index = torch.randperm(n, generator=gen)[:m] if m < n else torch.arange(n)
        centroids = kmeans_plus_plus(shards.rows(index).float(), k, gen)
    if spherical:
        centroids = torch.nn.functional.normalize(centroids, dim=1)
    reseeded = 0
    it = 0
    for it in range(1, iters + 1):
        parts = shards.step(centroids, k)
        dev = centroids.device
        sums = torch.stack([p.sums.to(dev) for p in parts]).sum(0)
        counts = torch.stack([p.counts.to(dev) for p in parts]).sum(0)
        changed = sum(p.changed for p in parts) / n
        empty = (counts == 0).nonzero().flatten()
        if len(empty):
            worst_d2 = torch.cat([p.worst_d2.to(dev) for p in parts])
            worst_x = torch.cat([p.worst_x.to(dev) for p in parts])
            pick = torch.topk(worst_d2, k=len(empty)).indices
            sums[empty] = worst_x[pick]
            counts[empty] = 1
            reseeded += len(empty)
        centroids = sums / counts.clamp_min(1).unsqueeze(1).to(sums.dtype)
        if spherical:
            centroids = torch.nn.functional.normalize(centroids, dim=1)
        if progress:
            progress(it, iters)
        if changed < tol and not len(empty):
            break
    labels, inertia = shards.labels(centroids)
    counts = torch.bincount(labels.to(centroids.device), minlength=k)
    return KMeansResult(centroids, labels, counts, inertia, it, reseeded)
