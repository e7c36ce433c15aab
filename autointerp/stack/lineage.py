"""A stack: several layers of one model built together, and the lineage of clusters between them.

Lineage is read from the validation indexes alone (no forward pass): every layer of a stack indexes the
same validation tokens in the same order, so pairing row i of layer L with row i of the next layer says
where each token went. It is stored sparse (only the centroid pairs that occur), so it stays small at
any k.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autointerp.config import BuildConfig, check_layers
from autointerp.core.index import TokenRecords
from autointerp.errors import WorkspaceError

STACK_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Flow:
    """Tokens moving between a centroid and one centroid of the adjacent layer."""

    layer: int  # the layer of `centroid_id`
    centroid_id: int
    count: int
    share: float  # of the tokens of the centroid whose parents or children these are


@dataclass
class Lineage:
    """Validation-token counts from each centroid at `source` to each centroid at `target`."""

    source: int
    target: int
    k_source: int
    k_target: int
    src: np.ndarray  # (pairs,) int32, sorted by (src, dst); only pairs that occur
    dst: np.ndarray
    count: np.ndarray  # (pairs,) int64
    _by_dst: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_records(
        cls, source: int, target: int, a: TokenRecords, b: TokenRecords, k_source: int, k_target: int
    ) -> Lineage:
        """Pair the two layers' records row by row; they must hold the same tokens in the same order."""
        same = (
            len(a) == len(b)
            and np.array_equal(np.asarray(a.window), np.asarray(b.window))
            and np.array_equal(np.asarray(a.pos), np.asarray(b.pos))
        )
        if not same:
            raise WorkspaceError(
                f"layers {source} and {target} were indexed on different validation tokens; "
                "rebuild the stack with --force"
            )
        key = np.asarray(a.cluster, dtype=np.int64) * k_target + np.asarray(b.cluster, dtype=np.int64)
        pairs, counts = np.unique(key, return_counts=True)
        return cls(
            source,
            target,
            int(k_source),
            int(k_target),
            (pairs // k_target).astype(np.int32),
            (pairs % k_target).astype(np.int32),
            counts.astype(np.int64),
        )

    @property
    def total(self) -> int:
        """Validation tokens paired: the population of either layer's index."""
        return int(self.count.sum())

    def source_population(self) -> np.ndarray:
        return np.bincount(self.src, weights=self.count, minlength=self.k_source).astype(np.int64)

    def target_population(self) -> np.ndarray:
        return np.bincount(self.dst, weights=self.count, minlength=self.k_target).astype(np.int64)

    def children(self, centroid_id: int) -> list[Flow]:
        """Where the tokens of `centroid_id` (at `source`) land at `target`, largest share first."""
        lo, hi = np.searchsorted(self.src, [centroid_id, centroid_id + 1])
        return self._flows(self.dst[lo:hi], self.count[lo:hi], self.target)

    def parents(self, centroid_id: int) -> list[Flow]:
        """Which centroids at `source` feed `centroid_id` (at `target`), largest share first."""
        if self._by_dst is None:
            self._by_dst = np.lexsort((self.src, self.dst))
        dst_sorted = self.dst[self._by_dst]
        lo, hi = np.searchsorted(dst_sorted, [centroid_id, centroid_id + 1])
        rows = self._by_dst[lo:hi]
        return self._flows(self.src[rows], self.count[rows], self.source)

    @staticmethod
    def _flows(ids: np.ndarray, counts: np.ndarray, layer: int) -> list[Flow]:
        total = int(counts.sum())
        order = np.lexsort((ids, -counts))
        return [Flow(layer, int(ids[i]), int(counts[i]), int(counts[i]) / total) for i in order]

    def save(self, path: Path) -> None:
        meta = np.array([self.source, self.target, self.k_source, self.k_target], dtype=np.int64)
        with open(path, "wb") as fh:
            np.savez(fh, meta=meta, src=self.src, dst=self.dst, count=self.count)

    @classmethod
    def load(cls, path: Path) -> Lineage:
        with np.load(path) as data:
            source, target, k_s, k_t = (int(x) for x in data["meta"])
            return cls(source, target, k_s, k_t, data["src"], data["dst"], data["count"])


def stack_folder_name(config: BuildConfig, layers: list[int]) -> str:
    """Named like a workspace, with every layer; the hash covers the shared config and the layers."""
    shared = {k: v for k, v in config.to_dict().items() if k != "layer"}
    blob = json.dumps({"config": shared, "layers": layers}, sort_keys=True).encode()
    digest = hashlib.sha256(blob).hexdigest()[:10]
    model = re.sub(r"[^A-Za-z0-9.-]+", "-", config.model.split("/")[-1].split(":")[-1]).strip("-")
    return f"{model}-stack-L{'.'.join(map(str, layers))}-{config.site}-k{config.k}-{digest}"


def lineage_file(source: int, target: int) -> str:
    return f"lineage_L{source}_L{target}.npz"


@dataclass
class StackManifest:
    """What ties a stack's layers together: the workspace of each layer (sibling folders) and the lineage
    files between adjacent layers."""

    layers: list[int]
    workspaces: dict[int, str]  # layer -> workspace folder name
    config: dict[str, Any]  # the build config the layers share (`layer` is the deepest)
    lineage: dict[str, str]  # "3-6" -> file in the stack folder
    created: str
    stats: dict[str, Any] = field(default_factory=dict)
    format_version: int = STACK_FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["workspaces"] = {str(k): v for k, v in self.workspaces.items()}
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StackManifest:
        if data.get("format_version") != STACK_FORMAT_VERSION:
            raise WorkspaceError("this stack was built by another version; rebuild it with --force")
        layers = check_layers(data["layers"])
        workspaces = {int(k): str(v) for k, v in data["workspaces"].items()}
        if set(workspaces) != set(layers):
            raise WorkspaceError(
                f"the stack manifest lists layers {layers} but workspaces for {sorted(workspaces)}; "
                "rebuild it with --force"
            )
        return cls(
            layers=layers,
            workspaces=workspaces,
            config=dict(data["config"]),
            lineage={str(k): str(v) for k, v in data.get("lineage", {}).items()},
            created=str(data.get("created", "")),
            stats=dict(data.get("stats") or {}),
        )
