"""Validation index: every token's nearest centroid, distance and margin, sorted for O(1) top-k queries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch

from autointerp.core.activations import iter_layers, model_device
from autointerp.core.search import Nearest, nearest_two, normalise

FIELDS = ("cluster", "dist", "second", "margin", "window", "pos", "token", "norm")


Distance = TypeVar("Distance", np.ndarray, torch.Tensor, np.floating, float)


def activation_from_distance(dist: Distance, normalisation: str) -> Distance:
    """The one definition of "activation": cosine similarity to the centroid in cosine mode
    (1 - d²/2 for unit vectors), the negated Euclidean distance otherwise. Larger is stronger."""
    if normalisation == "cosine":
        return 1.0 - dist * dist / 2.0
    return -dist


@dataclass
class TokenRecords:
    """Column arrays, one row per validation token."""

    cluster: np.ndarray
    dist: np.ndarray
    second: np.ndarray
    margin: np.ndarray
    window: np.ndarray
    pos: np.ndarray
    token: np.ndarray
    norm: np.ndarray

    @classmethod
    def from_batch(
        cls, nearest: Nearest, window: torch.Tensor, pos: torch.Tensor, token: torch.Tensor, norm: torch.Tensor
    ) -> TokenRecords:
        return cls(
            cluster=nearest.first.cpu().numpy().astype(np.int32),
            dist=nearest.dist.cpu().numpy().astype(np.float32),
            second=nearest.second.cpu().numpy().astype(np.int32),
            margin=nearest.margin.cpu().numpy().astype(np.float32),
            window=window.cpu().numpy().astype(np.int32),
            pos=pos.cpu().numpy().astype(np.int32),
            token=token.cpu().numpy().astype(np.int32),
            norm=norm.cpu().numpy().astype(np.float32),
        )

    @classmethod
    def concat(cls, parts: Iterable[TokenRecords]) -> TokenRecords:
        parts = list(parts)
        return cls(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS})

    def __len__(self) -> int:
        return len(self.cluster)


@dataclass(frozen=True)
class LayerSpace:
    """What a layer's tokens are assigned to: its centroids and the training mean (cosine mode)."""

    centroids: torch.Tensor
    center: torch.Tensor | None


def stream_records(
    model: Any,
    windows: list[list[int]],
    layer: int,
    site: str,
    sink: int | None,
    centroids: torch.Tensor,
    center: torch.Tensor | None,
    normalisation: str,
    offset: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> TokenRecords | None:
    """One layer's token records; see `stream_layer_records`."""
    spaces = {int(layer): LayerSpace(centroids, center)}
    out = stream_layer_records(model, windows, spaces, site, sink, normalisation, offset, on_batch)
    return out[int(layer)] if out is not None else None


def stream_layer_records(
    model: Any,
    windows: list[list[int]],
    spaces: dict[int, LayerSpace],
    site: str,
    sink: int | None,
    normalisation: str,
    offset: int = 0,
    on_batch: Callable[[int], None] | None = None,
) -> dict[int, TokenRecords] | None:
    """One streaming pass over token windows, every layer of `spaces` read in the same forward: each
    batch is assigned and its activations dropped, so memory holds only the records (40 B/token per
    layer). `offset` shifts window ids for sharded callers."""
    dev = model_device(model)
    on_dev = {layer: LayerSpace(s.centroids.to(dev), s.center) for layer, s in spaces.items()}
    parts: dict[int, list[TokenRecords]] = {layer: [] for layer in spaces}
    for b in iter_layers(model, windows, list(spaces), site, sink):
        for layer, space in on_dev.items():
            acts = b.acts[layer]
            near = nearest_two(normalise(acts.to(dev), space.center, normalisation), space.centroids)
            rec = TokenRecords.from_batch(near, b.window_ids + offset, b.positions, b.token_ids, acts.norm(dim=1))
            parts[layer].append(rec)
        if on_batch is not None:
            on_batch(len(b.token_ids))
    if not any(parts.values()):
        return None
    return {layer: TokenRecords.concat(p) for layer, p in parts.items()}


class ValidationIndex:
    """Token records sorted by (cluster, distance), with per-cluster offsets: a top-k query is a slice."""

    def __init__(
        self,
        records: TokenRecords,
        num_centroids: int,
        order: np.ndarray | None = None,
        offsets: np.ndarray | None = None,
    ):
        self.records = records
        self.num_centroids = int(num_centroids)
        if order is None or offsets is None:
            order = np.lexsort((records.dist, records.cluster)).astype(np.int64)
            counts = np.bincount(records.cluster, minlength=self.num_centroids)
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.order = order
        self.offsets = offsets

    def __len__(self) -> int:
        return len(self.records)

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def members(self, centroid_id: int, n_examples: int | None = None) -> np.ndarray:
        """Row ids of the centroid's members, nearest first."""
        lo, hi = int(self.offsets[centroid_id]), int(self.offsets[centroid_id + 1])
        if n_examples is not None:
            hi = min(hi, lo + int(n_examples))
        return np.asarray(self.order[lo:hi])

    def banded_members(self, centroid_id: int, per_band: int, bands: int = 4, seed: int = 0) -> list[np.ndarray]:
        """Members sampled from distance quantile bands, core to edge, to avoid top-only bias."""
        rows = self.members(centroid_id)
        if len(rows) == 0:
            return [rows for _ in range(bands)]
        rng = np.random.default_rng(seed + centroid_id)
        out = []
        for chunk in np.array_split(rows, bands):
            take = min(per_band, len(chunk))
            out.append(np.sort(rng.choice(chunk, size=take, replace=False)) if take else chunk)
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for f in FIELDS:
            np.save(folder / f"{f}.npy", getattr(self.records, f))
        np.save(folder / "order.npy", self.order)
        np.save(folder / "offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path, num_centroids: int) -> ValidationIndex:
        rec = TokenRecords(**{f: np.load(folder / f"{f}.npy", mmap_mode="r") for f in FIELDS})
        order = np.load(folder / "order.npy", mmap_mode="r")
        offsets = np.load(folder / "offsets.npy")
        if len(offsets) != num_centroids + 1:
            raise ValueError(f"index in {folder} was built for {len(offsets) - 1} centroids, not {num_centroids}")
        return cls(rec, num_centroids, order, offsets)
