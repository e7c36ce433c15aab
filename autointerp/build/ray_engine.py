"""Distributed build on Ray: shards of the corpus go to workers that extract, assign and reduce.

Each worker loads the model once and keeps its shard of training activations in its own memory. The
driver never holds activations: k-means runs `kmeans.fit_sharded` with per-shard sums and counts
reduced each iteration, and the validation index is assembled from per-shard token records. Several
layers (a stack) share each worker's forward passes: a worker keeps one shard of activations per layer,
and the fits run one layer after another. Install with `pip install -r requirements-ray.txt`; the
default install and the dashboard never import Ray.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from autointerp.build.engine import TrainFit, fit_stage, fit_train
from autointerp.build.kmeans import ShardStats, shard_step
from autointerp.config import BuildConfig
from autointerp.core.activations import iter_layers
from autointerp.core.index import LayerSpace, TokenRecords, ValidationIndex, stream_layer_records
from autointerp.core.models import load_model, resolve_model_path, sink_token_id
from autointerp.core.search import assign, centre_and_normalise
from autointerp.data.corpus import TokenWindows
from autointerp.errors import AutoInterpError
from autointerp.progress import Progress

try:
    import ray
except ImportError as exc:  # pragma: no cover - exercised only without the optional dependency
    raise AutoInterpError("the Ray backend needs Ray: pip install -r requirements-ray.txt") from exc


class LayerShard:
    """One layer's share of the training activations on one worker."""

    def __init__(self, raw: torch.Tensor):
        self.raw: torch.Tensor | None = raw
        self.norms = raw.norm(dim=1)
        self.x = torch.empty(0)
        self.labels = torch.empty(0, dtype=torch.long)
        self.centered_norms = torch.empty(0)


class ShardWorker:
    """One Ray actor: a model replica and one shard of the training activations of each layer."""

    def __init__(self, model_path: str, dtype: str, layers: list[int], site: str, sink: int | None, threads: int):
        torch.set_num_threads(threads)
        self.model = load_model(model_path, device="cpu", dtype=dtype)
        self.layers, self.site, self.sink = layers, site, sink
        self.shards: dict[int, LayerShard] = {}

    def extract(self, windows: list[list[int]]) -> dict[int, torch.Tensor]:
        parts: dict[int, list[torch.Tensor]] = {layer: [] for layer in self.layers}
        for b in iter_layers(self.model, windows, self.layers, self.site, self.sink):
            for layer, a in b.acts.items():
                parts[layer].append(a)
        empty = torch.empty(0, self.model.hidden_size)
        self.shards = {layer: LayerShard(torch.cat(p) if p else empty) for layer, p in parts.items()}
        return {layer: sh.norms for layer, sh in self.shards.items()}

    def kept_sum(self, layer: int, threshold: float) -> tuple[torch.Tensor, int]:
        raw = self.shards[layer].raw
        assert raw is not None, "extract() runs first"
        kept = raw[self.shards[layer].norms <= threshold]
        return kept.sum(0, dtype=torch.float64), len(kept)

    def prepare(self, layer: int, threshold: float, center: torch.Tensor | None, mode: str) -> int:
        sh = self.shards[layer]
        assert sh.raw is not None, "extract() runs first"
        kept = sh.raw[sh.norms <= threshold]
        sh.raw = None
        sh.x, sh.centered_norms = centre_and_normalise(kept, center, mode)
        sh.labels = torch.full((len(sh.x),), -1, dtype=torch.long)
        return len(sh.x)

    def get_centered_norms(self, layer: int) -> torch.Tensor:
        return self.shards[layer].centered_norms

    def rows(self, layer: int, local: torch.Tensor) -> torch.Tensor:
        return self.shards[layer].x[local]

    def step(self, layer: int, centroids: torch.Tensor, n_worst: int) -> ShardStats:
        sh = self.shards[layer]
        stats, sh.labels = shard_step(sh.x, sh.labels, centroids, n_worst)
        return stats

    def assign_all(self, layer: int, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        labels, d2 = assign(self.shards[layer].x, centroids)
        return labels, float(d2.sum())

    def release(self, layer: int) -> None:
        """A fitted layer's activations are no longer needed."""
        self.shards.pop(layer, None)

    def index(
        self, windows: list[list[int]], offset: int, spaces: dict[int, LayerSpace], mode: str
    ) -> dict[int, TokenRecords] | None:
        return stream_layer_records(self.model, windows, spaces, self.site, self.sink, mode, offset)


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous, order-preserving shards, so global row order matches the single-process path."""
    edges = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]


class RayShards:
    """`kmeans.Shards` of one layer backed by Ray actors; rows keep the global order of the local backend."""

    def __init__(self, actors: list[Any], sizes: list[int], layer: int):
        self.actors = actors
        self.layer = layer
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
                refs.append(
                    self.actors[a].rows.remote(self.layer, torch.as_tensor(index.numpy()[sel] - self.offsets[a]))
                )
                where.append(sel)
        out = torch.empty((len(index), 0))
        for sel, got in zip(where, ray.get(refs), strict=True):
            if out.shape[1] == 0:
                out = torch.empty((len(index), got.shape[1]))
            out[torch.as_tensor(sel)] = got
        return out

    def step(self, centroids: torch.Tensor, n_worst: int) -> list[ShardStats]:
        ref = ray.put(centroids.cpu())
        return ray.get(
            [a.step.remote(self.layer, ref, n_worst) for a, n in zip(self.actors, self.sizes, strict=True) if n]
        )

    def labels(self, centroids: torch.Tensor) -> tuple[torch.Tensor, float]:
        ref = ray.put(centroids.cpu())
        got = ray.get([a.assign_all.remote(self.layer, ref) for a in self.actors])
        return torch.cat([g[0] for g in got]), sum(g[1] for g in got)

    # the two hooks fit_train needs beyond kmeans.Shards
    def prepare(self, threshold: float, mode: str) -> tuple[int, torch.Tensor | None]:
        center = None
        if mode == "cosine":
            sums = ray.get([a.kept_sum.remote(self.layer, threshold) for a in self.actors])
            center = (sum(s for s, _ in sums) / max(1, sum(n for _, n in sums))).float()
        self.sizes = ray.get([a.prepare.remote(self.layer, threshold, center, mode) for a in self.actors])
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)])
        return self.size(), center

    def median_centered_norm(self) -> float:
        return float(torch.cat(ray.get([a.get_centered_norms.remote(self.layer) for a in self.actors])).median())


class RayEngine:
    """The Ray build engine (`build --backend ray`), for one layer or a stack."""

    def __init__(self, config: BuildConfig, model: Any, workers: int = 2, layers: Sequence[int] | None = None):
        self.config = config
        self.layers = list(layers) if layers is not None else [config.layer]  # checked by build_stack
        self.workers = max(1, int(workers))
        if not ray.is_initialized():
            ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        threads = max(1, (os.cpu_count() or 2) // self.workers)
        path = resolve_model_path(config.model)  # convert the embedded model once, before workers race
        actor = ray.remote(num_cpus=1)(ShardWorker)
        self.sink = sink_token_id(model.tokenizer)
        self.actors: list[Any] = [
            actor.remote(path, config.dtype, self.layers, config.site, self.sink, threads) for _ in range(self.workers)
        ]

    def fit(self, train: TokenWindows, sink: int | None, progress: Progress) -> dict[int, TrainFit]:
        bounds = _split(len(train.windows), self.workers)
        refs = [a.extract.remote(train.windows[lo:hi]) for a, (lo, hi) in zip(self.actors, bounds, strict=True)]
        progress("extract train activations", 0, train.n_tokens)
        norms = ray.get(refs)
        progress("extract train activations", train.n_tokens, train.n_tokens)
        fits = {}
        for layer in self.layers:
            shards = RayShards(self.actors, [len(n[layer]) for n in norms], layer)
            norms_l = torch.cat([n[layer] for n in norms])
            fits[layer] = fit_train(shards, norms_l, self.config, progress, fit_stage(layer, self.layers))
            ray.get([a.release.remote(layer) for a in self.actors])
        return fits

    def index(
        self,
        windows: TokenWindows,
        spaces: dict[int, LayerSpace],
        sink: int | None,
        stage: str,
        progress: Progress,
    ) -> dict[int, ValidationIndex]:
        bounds = _split(len(windows.windows), self.workers)
        s_ref = ray.put(spaces)
        progress(stage, 0, windows.n_tokens)
        parts = ray.get(
            [
                a.index.remote(windows.windows[lo:hi], lo, s_ref, self.config.normalisation)
                for a, (lo, hi) in zip(self.actors, bounds, strict=True)
            ]
        )
        progress(stage, windows.n_tokens, windows.n_tokens)
        found = [p for p in parts if p is not None]
        return {
            layer: ValidationIndex(TokenRecords.concat([p[layer] for p in found]), space.centroids.shape[0])
            for layer, space in spaces.items()
        }

    def close(self) -> None:
        for a in self.actors:
            ray.kill(a)
