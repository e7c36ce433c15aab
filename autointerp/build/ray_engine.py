"""Distributed build on Ray: shards of the corpus go to workers that extract, assign and reduce.

Each worker loads the model once and keeps its shard of training activations in its own memory. The
driver never holds activations: k-means runs `kmeans.fit_sharded` with per-shard sums and counts
reduced each iteration, and the validation index is assembled from per-shard token records. Install
with `pip install -r requirements-ray.txt`; the default install and the dashboard never import Ray.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from autointerp.build.activations import iter_activations
from autointerp.build.corpus import TokenWindows
from autointerp.build.engine import TrainFit, fit_train
from autointerp.build.index import TokenRecords, ValidationIndex, stream_records
from autointerp.build.kmeans import ShardStats, assign, centre_and_normalise, shard_step
from autointerp.build.models import load_model, resolve_model_path, sink_token_id
from autointerp.config import BuildConfig
from autointerp.errors import AutoInterpError
from autointerp.progress import Progress

try:
    import ray
except ImportError as exc:  # pragma: no cover - exercised only without the optional dependency
    raise AutoInterpError("the Ray backend needs Ray: pip install -r requirements-ray.txt") from exc


class ShardWorker:
    """One Ray actor: a model replica and one shard of the training activations."""

    def __init__(self, model_path: str, dtype: str, layer: int, site: str, sink: int | None, threads: int):
        torch.set_num_threads(threads)
        self.model = load_model(model_path, device="cpu", dtype=dtype)
        self.layer, self.site, self.sink = layer, site, sink
        self.raw: torch.Tensor | None = None
        self.norms = torch.empty(0)
        self.x = torch.empty(0)
        self.labels = torch.empty(0, dtype=torch.long)
        self.centered_norms = torch.empty(0)

    def extract(self, windows: list[list[int]]) -> torch.Tensor:
        parts = [b.acts for b in iter_activations(self.model, windows, self.layer, self.site, self.sink)]
        self.raw = torch.cat(parts) if parts else torch.empty(0, self.model.hidden_size)
        self.norms = self.raw.norm(dim=1)
        return self.norms

    def kept_sum(self, threshold: float) -> tuple[torch.Tensor, int]:
        assert self.raw is not None, "extract() runs first"
        kept = self.raw[self.norms <= threshold]
        return kept.sum(0, dtype=torch.float64), len(kept)

    def prepare(self, threshold: float, center: torch.Tensor | None, mode: str) -> int:
        assert self.raw is not None, "extract() runs first"
        kept = self.raw[self.norms <= threshold]
        self.raw = None
        self.x, self.centered_norms = centre_and_normalise(kept, center, mode)
        self.labels = torch.full((len(self.x),), -1, dtype=torch.long)
        return len(self.x)

    def get_centered_norms(self) -> torch.Tensor:
        return self.centered_norms

    def rows(self, local: torch.Tensor) -> torch.Tensor:
        return self.x[local]

    def step(self, centroids: torch.Tensor, n_worst: int) -> ShardStats:
        stats, self.labels = shard_step(self.x, self.labels, centroids, n_worst)
        return stats

    def assign_all(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        labels, d2 = assign(self.x, centroids)
        return labels, float(d2.sum())

    def index(
        self, windows: list[list[int]], offset: int, centroids: torch.Tensor, center: torch.Tensor | None, mode: str
    ) -> TokenRecords | None:
        return stream_records(self.model, windows, self.layer, self.site, self.sink, centroids, center, mode, offset)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous, order-preserving shards, so global row order matches the single-process path."""
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


class RayShards:
    """`kmeans.Shards` backed by Ray actors; rows keep the global order of the local backend."""

    def __init__(self, actors: list[Any], sizes: list[int]):
        self.actors = actors
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])

    def size(self) -> int:
        return int(self.offsets[-1])

    def rows(self, index: torch.Tensor) -> torch.Tensor:
        owner = np.searchsorted(self.offsets, index.numpy(), side="right") - 1
        refs, where = [], []
        for a in range(len(self.actors)):
            sel = np.nonzero(owner == a)[0]
            if len(sel):
                refs.append(self.actors[a].rows.remote(torch.as_tensor(index.numpy()[sel] - self.offsets[a])))
                where.append(sel)
        out = torch.empty((len(index), 0))
        for sel, got in zip(where, ray.get(refs), strict=True):
            if out.shape[1] == 0:
                out = torch.empty((len(index), got.shape[1]))
            out[torch.as_tensor(sel)] = got
        return out

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]:
        ref = ray.put(centroids.cpu())
        return ray.get([a.step.remote(ref, n_worst) for a, n in zip(self.actors, self.sizes, strict=True) if n])

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        ref = ray.put(centroids.cpu())
        got = ray.get([a.assign_all.remote(ref) for a in self.actors])
        return torch.cat([g[0] for g in got]), sum(g[1] for g in got)

    # the two hooks fit_train needs beyond kmeans.Shards
    def prepare(self, threshold: float, mode: str) -> tuple[int, torch.Tensor | None]:
        center = None
        if mode == "cosine":
            sums = ray.get([a.kept_sum.remote(threshold) for a in self.actors])
            center = (sum(s for s, _ in sums) / max(1, sum(n for _, n in sums))).float()
        self.sizes = ray.get([a.prepare.remote(threshold, center, mode) for a in self.actors])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        return self.size(), center

    def median_centered_norm(self) -> float:
        return float(torch.cat(ray.get([a.get_centered_norms.remote() for a in self.actors])).median())


class RayEngine:
    """The Ray build engine (`build --backend ray`)."""

    def __init__(self, config: BuildConfig, model: Any, workers: int = 2):
        self.config = config
        self.workers = max(1, int(workers))
        if not ray.is_initialized():
            ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        threads = max(1, (os.cpu_count() or 2) // self.workers)
        path = resolve_model_path(config.model)  # convert the embedded model once, before workers race
        actor = ray.remote(num_cpus=1)(ShardWorker)
        self.sink = sink_token_id(model.tokenizer)
        self.actors: list[Any] = [
            actor.remote(path, config.dtype, config.layer, config.site, self.sink, threads) for _ in range(self.workers)
        ]

    def fit(self, train: TokenWindows, sink: int | None, progress: Progress) -> TrainFit:
        bounds = _split(len(train.windows), self.workers)
        refs = [a.extract.remote(train.windows[lo:hi]) for a, (lo, hi) in zip(self.actors, bounds, strict=True)]
        progress("extract train activations", 0, train.n_tokens)
        norms = ray.get(refs)
        progress("extract train activations", train.n_tokens, train.n_tokens)
        shards = RayShards(self.actors, [len(n) for n in norms])
        return fit_train(shards, torch.cat(norms), self.config, progress)

    def index(
        self,
        windows: TokenWindows,
        centroids: torch.Tensor,
        center: torch.Tensor | None,
        sink: int | None,
        stage: str,
        progress: Progress,
    ) -> ValidationIndex:
        bounds = _split(len(windows.windows), self.workers)
        c_ref = ray.put(centroids)
        progress(stage, 0, windows.n_tokens)
        parts = ray.get(
            [
                a.index.remote(windows.windows[lo:hi], lo, c_ref, center, self.config.normalisation)
                for a, (lo, hi) in zip(self.actors, bounds, strict=True)
            ]
        )
        progress(stage, windows.n_tokens, windows.n_tokens)
        return ValidationIndex(TokenRecords.concat([p for p in parts if p is not None]), centroids.shape[0])

    def close(self) -> None:
        for a in self.actors:
            ray.kill(a)
