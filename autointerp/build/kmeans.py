"""k-means in torch: k-means++ seeding, chunked Lloyd iterations, empty-cluster repair, spherical mode."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import torch

INIT_SAMPLE = 20_000
CHUNK = 2048  # rows per distance block: 1-2k measured fastest on 2 cores


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


RERANK = 4  # bf16 candidates re-scored exactly in float32


def _use_bf16(k: int, precision: str) -> bool:
    return precision == "bf16-rerank" or (precision == "auto" and k > RERANK)


def _block_top(
    xb: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor, c_low: torch.Tensor | None, m: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The m nearest centroids of each row with exact float32 squared distances.

    With `c_low` (bf16 centroids) the full distance block is computed in bf16, which runs several times
    faster than float32 on CPUs with AVX-512-bf16/AMX and on GPUs, and only the RERANK best candidates
    are re-scored exactly; the result equals the float32 search unless a true nearest centroid falls
    outside the bf16 top candidates (measured agreement is reported by bench/run.py)."""
    x_sq = (xb * xb).sum(1, keepdim=True)
    if c_low is None:
        d = torch.addmm(c_sq.unsqueeze(0), xb, c.t(), alpha=-2.0)
        vals, idx = torch.topk(d, k=m, dim=1, largest=False)
        return (vals + x_sq).clamp_min(0), idx
    approx = torch.addmm(c_sq.unsqueeze(0).to(torch.bfloat16), xb.to(torch.bfloat16), c_low.t(), alpha=-2.0)
    _, cand = torch.topk(approx.float(), k=RERANK, dim=1, largest=False)
    cc = c[cand]  # (rows, RERANK, d)
    exact = c_sq[cand] - 2.0 * torch.einsum("rd,rkd->rk", xb, cc)
    vals, order = torch.topk(exact, k=m, dim=1, largest=False)
    return (vals + x_sq).clamp_min(0), torch.gather(cand, 1, order)


def nearest_two(x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto") -> Nearest:
    """Nearest and second-nearest centroid by ‖x‖² - 2x·c + ‖c‖², in blocks so memory stays flat."""
    x = x.float()
    c = centroids.to(x.device, torch.float32)
    c_sq = (c * c).sum(1)
    k = c.shape[0]
    c_low = c.to(torch.bfloat16) if _use_bf16(k, precision) else None
    outs = []
    for s in range(0, x.shape[0], chunk):
        vals, idx = _block_top(x[s : s + chunk], c, c_sq, c_low, min(2, k))
        if k == 1:
            vals, idx = vals.repeat(1, 2), idx.repeat(1, 2)
        outs.append((idx, vals.sqrt()))
    if not outs:
        empty = torch.empty(0, dtype=torch.long)
        return Nearest(empty, torch.empty(0), empty, torch.empty(0))
    idx = torch.cat([o[0] for o in outs])
    vals = torch.cat([o[1] for o in outs])
    return Nearest(idx[:, 0], vals[:, 0], idx[:, 1], vals[:, 1])


BF16_EPS = 2.0**-8  # unit roundoff of bfloat16


def _assign_block(
    xb: torch.Tensor, c: torch.Tensor, c_sq: torch.Tensor, c_low: torch.Tensor, c_norm_max: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """bf16 dot products, then an exact float32 re-search of the rows whose bf16 margin is within the
    rounding error. The error bound (output rounding of the dot products plus a calibrated input-rounding
    term) held on every row of real and clustered activations; the labels match the float32 search."""
    x_sq = (xb * xb).sum(1)
    dots = (xb.to(torch.bfloat16) @ c_low.t()).float()
    approx = c_sq.unsqueeze(0) - 2.0 * dots
    vals, cand = torch.topk(approx, k=2, dim=1, largest=False)
    err = BF16_EPS * (2.0 * dots.abs().amax(1) + 0.25 * x_sq.sqrt() * c_norm_max)
    label = cand[:, 0].clone()
    unsure = ((vals[:, 1] - vals[:, 0]) <= 2.0 * err).nonzero().flatten()
    if len(unsure):
        exact = torch.addmm(c_sq.unsqueeze(0), xb[unsure], c.t(), alpha=-2.0)
        label[unsure] = exact.argmin(1)
    d2 = (x_sq + c_sq[label] - 2.0 * (xb * c[label]).sum(1)).clamp_min(0)
    return label, d2


def assign(
    x: torch.Tensor, centroids: torch.Tensor, chunk: int = CHUNK, precision: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest centroid and its exact squared distance for every row."""
    c = centroids.to(x.device, torch.float32)
    c_sq = (c * c).sum(1)
    fast = _use_bf16(c.shape[0], precision)
    c_low = c.to(torch.bfloat16) if fast else None
    c_norm_max = float(c_sq.max().sqrt()) if fast else 0.0
    labels, dists = [], []
    for s in range(0, x.shape[0], chunk):
        xb = x[s : s + chunk].float()
        if fast and c.shape[0] <= 512:
            lab, d2 = _assign_block(xb, c, c_sq, c_low, c_norm_max)
        else:  # float32, or many centroids (margins shrink): re-rank a few bf16 candidates instead
            vals, idx = _block_top(xb, c, c_sq, c_low, 1)
            lab, d2 = idx[:, 0], vals[:, 0]
        labels.append(lab)
        dists.append(d2)
    return torch.cat(labels), torch.cat(dists)


def kmeans_plus_plus(x: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
    """D²-weighted seeding; each step is one matvec, so the whole seeding costs about one Lloyd pass."""
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=generator).item()
    centers = torch.empty((k, x.shape[1]), dtype=torch.float32, device=x.device)
    centers[0] = x[first]
    x_sq = (x * x).sum(1)
    d2 = (x_sq - 2 * x @ centers[0] + centers[0].dot(centers[0])).clamp_min(0)
    for j in range(1, k):
        total = d2.sum()
        if total <= 0:
            idx = torch.randint(n, (1,), generator=generator).item()
        else:
            idx = torch.multinomial((d2 / total).cpu(), 1, generator=generator).item()
        centers[j] = x[idx]
        d2 = torch.minimum(d2, (x_sq - 2 * x @ centers[j] + centers[j].dot(centers[j])).clamp_min(0))
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
    inertia: float
    worst_d2: torch.Tensor  # (m,) the shard's largest squared distances, for empty-cluster repair
    worst_x: torch.Tensor  # (m, d) the matching points


class Shards(Protocol):
    """Where the points live: one tensor in this process, or many Ray actors."""

    def size(self) -> int: ...

    def rows(self, index: torch.Tensor) -> torch.Tensor: ...

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]: ...

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]: ...


def shard_step(
    x: torch.Tensor, labels: torch.Tensor, centroids: torch.Tensor, n_worst: int
) -> tuple[ShardStats, torch.Tensor]:
    """One Lloyd assignment on a shard; returns its statistics and its new labels."""
    k = centroids.shape[0]
    new_labels, d2 = assign(x, centroids)
    changed = int((new_labels != labels).sum())
    sums = torch.zeros_like(centroids).index_add_(0, new_labels, x)
    counts = torch.bincount(new_labels, minlength=k)
    m = min(n_worst, len(d2))
    worst = torch.topk(d2, k=m).indices
    return ShardStats(sums, counts, changed, float(d2.sum()), d2[worst], x[worst]), new_labels


class LocalShards:
    """All points in one tensor (CPU or GPU)."""

    def __init__(self, x: torch.Tensor):
        self.x = x.float().contiguous()
        self._labels = torch.full((len(self.x),), -1, dtype=torch.long, device=self.x.device)

    def size(self) -> int:
        return len(self.x)

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        return self.x[index.to(self.x.device)]

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]:
        stats, self._labels = shard_step(self.x, self._labels, centroids, n_worst)
        return [stats]

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        labels, d2 = assign(self.x, centroids)
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
) -> KMeansResult:
    """Lloyd's algorithm on one tensor. See `fit_sharded` for the algorithm."""
    return fit_sharded(LocalShards(x), k, iters, seed, spherical, tol, init, progress)


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
        sums = sum(p.sums.to(dev) for p in parts)
        counts = sum(p.counts.to(dev) for p in parts)
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
