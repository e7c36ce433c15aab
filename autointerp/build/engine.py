"""Build engines: where training activations live while k-means runs, behind one protocol.

The local engine keeps activations in this process (on the model's device); the Ray engine
(`ray_engine.py`) shards them across workers. Both hand `fit_train` a `kmeans.Shards`, so the fit is
the same code either way. An engine serves one or several layers of the same site: every forward pass
reads them all (stopping after the deepest), then each layer gets its own k-means and index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from autointerp.build import kmeans
from autointerp.config import BuildConfig
from autointerp.core.activations import iter_layers, model_device
from autointerp.core.index import LayerSpace, ValidationIndex, stream_layer_records
from autointerp.data.corpus import TokenWindows
from autointerp.errors import WorkspaceError
from autointerp.progress import Progress


@dataclass
class TrainFit:
    centroids: torch.Tensor  # (k, d) on CPU
    center: torch.Tensor | None
    median_norm: float
    median_centered_norm: float
    n_train: int
    n_outliers: int
    inertia: float
    iterations: int
    reseeded: int

    @property
    def space(self) -> LayerSpace:
        return LayerSpace(self.centroids, self.center)


def fit_stage(layer: int, layers: Sequence[int]) -> str:
    """Progress stage of one layer's fit; a stack names the layer, so each fit gets its own bar."""
    return "fit k-means" if len(layers) == 1 else f"fit k-means (layer {layer})"


class PreparedShards(kmeans.Shards, Protocol):
    """Training shards that can drop outliers and centre themselves before the fit."""

    def prepare(self, threshold: float, mode: str) -> tuple[int, torch.Tensor | None]: ...

    def median_centered_norm(self) -> float: ...


class BuildEngine(Protocol):
    """Extracts, fits and indexes the engine's layers (one forward pass serves them all); `close`
    releases workers."""

    layers: list[int]

    def fit(self, train: TokenWindows, sink: int | None, progress: Progress) -> dict[int, TrainFit]: ...

    def index(
        self,
        windows: TokenWindows,
        spaces: dict[int, LayerSpace],
        sink: int | None,
        stage: str,
        progress: Progress,
    ) -> dict[int, ValidationIndex]: ...

    def close(self) -> None: ...


def fit_train(
    shards: PreparedShards, norms: torch.Tensor, config: BuildConfig, progress: Progress, stage: str = "fit k-means"
) -> TrainFit:
    """Outlier cut, centring and k-means, the same for every engine and every layer."""
    median = float(norms.median())
    threshold = config.outlier_factor * median
    n_kept, center = shards.prepare(threshold, config.normalisation)
    k = min(config.k, n_kept)
    res = kmeans.fit_sharded(
        shards,
        k,
        iters=config.kmeans_iters,
        seed=config.seed,
        spherical=config.normalisation == "cosine",
        progress=lambda i, n: progress(stage, i, n),
    )
    progress(stage, config.kmeans_iters, config.kmeans_iters)
    return TrainFit(
        centroids=res.centroids.cpu(),
        center=center,
        median_norm=median,
        median_centered_norm=shards.median_centered_norm(),
        n_train=len(norms),
        n_outliers=len(norms) - n_kept,
        inertia=res.inertia,
        iterations=res.iterations,
        reseeded=res.reseeded,
    )


def _compact(x: torch.Tensor, keep: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """The rows of `x` where `keep` holds, moved to its front in place (x[keep] would copy all of them).

    Safe chunk by chunk: the i-th kept row sits at index >= i, so every row is read before it is written."""
    if bool(keep.all()):
        return x
    idx = keep.nonzero().squeeze(1)
    for start in range(0, len(idx), chunk):
        part = idx[start : start + chunk]
        x[start : start + len(part)] = x[part]
    return x[: len(idx)]


class TrainShards(kmeans.LocalShards):
    """Training activations held in this process, on the model's device."""

    def __init__(self, raw: torch.Tensor, device: torch.device):
        self.raw: torch.Tensor | None = raw
        self.norms = raw.norm(dim=1)
        self.device = device
        self.center: torch.Tensor | None = None
        self._centered = torch.empty(0)
        super().__init__(torch.empty(0, raw.shape[1]))

    def prepare(self, threshold: float, mode: str) -> tuple[int, torch.Tensor | None]:
        """Drop outliers, then centre and normalise in place: one copy of the activations at a time, which
        keeps a default build's peak memory about 0.5 GB lower than copying at each step."""
        assert self.raw is not None, "prepare() runs once"
        kept = _compact(self.raw, self.norms <= threshold)
        self.raw = None  # `kept` is a view of the same storage: still one copy
        self.center = kept.mean(0) if mode == "cosine" else None
        if self.center is not None:
            kept.sub_(self.center)
        self._centered = kept.norm(dim=1)
        if mode == "cosine":  # what search.normalise computes (F.normalize), without a second copy
            kept.div_(self._centered.clamp_min(1e-12)[:, None])
        super().__init__(kept.to(self.device))
        return len(kept), self.center

    def median_centered_norm(self) -> float:
        return float(self._centered.median())


def _fill(buf: torch.Tensor | None, acts: torch.Tensor, at: int, expected: int) -> torch.Tensor:
    """Write a batch into one preallocated tensor: a list of batches and its concatenation would hold the
    training activations twice at the peak."""
    if buf is None:
        buf = torch.empty(max(expected, at + len(acts)), acts.shape[1], dtype=acts.dtype)
    if at + len(acts) > len(buf):  # more tokens than counted: not expected, but never wrong
        return torch.cat([buf[:at], acts])
    buf[at : at + len(acts)] = acts
    return buf


class LocalEngine:
    """Everything in this process; activations are streamed, never held, when indexing."""

    def __init__(self, config: BuildConfig, model: Any, layers: Sequence[int] | None = None):
        self.config, self.model = config, model
        self.layers = list(layers) if layers is not None else [config.layer]  # checked by build_stack

    def fit(self, train: TokenWindows, sink: int | None, progress: Progress) -> dict[int, TrainFit]:
        cfg, done = self.config, 0
        raw: dict[int, torch.Tensor] = {}  # per layer, filled in place (see _fill)
        for batch in iter_layers(self.model, train.windows, self.layers, cfg.site, sink):
            for layer, a in batch.acts.items():
                raw[layer] = _fill(raw.get(layer), a, done, train.n_tokens)
            done += len(batch.token_ids)
            progress("extract train activations", done, train.n_tokens)
        if not done:
            raise WorkspaceError("the training split holds no tokens")
        fits = {}
        for layer in self.layers:
            shards = TrainShards(raw.pop(layer)[:done], model_device(self.model))
            fits[layer] = fit_train(shards, shards.norms, cfg, progress, fit_stage(layer, self.layers))
        return fits

    def index(
        self,
        windows: TokenWindows,
        spaces: dict[int, LayerSpace],
        sink: int | None,
        stage: str,
        progress: Progress,
    ) -> dict[int, ValidationIndex]:
        cfg, done = self.config, 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            progress(stage, done, windows.n_tokens)

        records = stream_layer_records(
            self.model, windows.windows, spaces, cfg.site, sink, cfg.normalisation, on_batch=tick
        )
        if records is None:
            raise WorkspaceError(f"{stage}: the split holds no tokens")
        return {layer: ValidationIndex(r, spaces[layer].centroids.shape[0]) for layer, r in records.items()}

    def close(self) -> None:
        return None
