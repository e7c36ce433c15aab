"""Reading and writing centroid files (.pt, .safetensors, .npy) with their metadata."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autointerp.errors import CentroidFileError, InputError


@dataclass(frozen=True)
class FitInfo:
    """How the clusters were made, as a build writes it into the centroids file (a reader sees every choice).

    Every field is optional: a centroids file from elsewhere may carry none or a few of them; keys this
    record does not know are kept in `extra`, so nothing a file carries is lost on a round trip."""

    model: str | None = None
    layer: int | None = None
    site: str | None = None
    k: int | None = None  # number of centroids
    normalisation: str | None = None  # "cosine" or "none"
    normalisation_detail: str | None = None
    corpus: str | None = None
    seed: int | None = None
    hidden_dim: int | None = None
    sink_token_id: int | None = None  # a build's choice, None when the tokenizer has no sink token
    sink_policy: str | None = None  # set by every build: then `sink_token_id` is its decision, even None
    outlier_policy: str | None = None
    outliers_excluded: int | None = None
    train_tokens: int | None = None
    median_centered_norm: float | None = None
    inertia: float | None = None
    iterations: int | None = None
    reseeded_empty_clusters: int | None = None
    backend: str | None = None  # "local" or "ray"
    activation_definition: str | None = None
    linguistic: str | None = None  # which tagger labelled the words, or why none did
    concepts: str | None = None  # which WordNet coded the concepts, or why none did
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sink_decided(self) -> bool:
        """True when a build chose the sink token (possibly none); otherwise the tokenizer's is used."""
        return self.sink_policy is not None or self.sink_token_id is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to disk: the known keys in order (those set), then the extra ones."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out = {k: v for k, v in out.items() if v is not None or (k == "sink_token_id" and self.sink_decided)}
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FitInfo:
        """Read the JSON form, as written by any version: unknown keys go to `extra`."""
        known = {f.name for f in fields(cls)} - {"extra"}
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**{k: v for k, v in data.items() if k in known}, extra=extra)

    def overridden(self, other: FitInfo) -> FitInfo:
        """This record with every key `other` sets taking precedence (explicit metadata over a file's)."""
        return FitInfo.from_dict({**self.to_dict(), **other.to_dict()})


@dataclass(frozen=True)
class CentroidFile:
    """A centroids file as read: the centroids, the training mean they were centred on, how they were fitted."""

    centroids: torch.Tensor
    center: torch.Tensor | None
    info: FitInfo


def validate_centroids(centroids: Any, hidden_dim: int | None = None) -> torch.Tensor:
    """A finite (k, hidden) float tensor, or a clear error saying what is wrong."""
    if isinstance(centroids, np.ndarray):
        centroids = torch.from_numpy(np.ascontiguousarray(centroids))
    if not isinstance(centroids, torch.Tensor):
        raise InputError(f"centroids must be a tensor or array, got {type(centroids).__name__}")
    if centroids.ndim != 2 or centroids.shape[0] < 1 or centroids.shape[1] < 1:
        raise InputError(f"centroids must have shape (num_centroids, hidden_dim), got {tuple(centroids.shape)}")
    if not centroids.is_floating_point():
        raise InputError(f"centroids must be floating point, got {centroids.dtype}")
    bad = ~torch.isfinite(centroids).all(dim=1)
    if bad.any():
        ids = bad.nonzero().flatten().tolist()
        raise InputError(f"centroids contain NaN or Inf values (rows {ids[:10]}{'...' if len(ids) > 10 else ''})")
    if hidden_dim is not None and centroids.shape[1] != hidden_dim:
        raise InputError(
            f"centroids have width {centroids.shape[1]} but the model's hidden size is {hidden_dim}: "
            "they were fitted on another model or site"
        )
    return centroids.float()


def _read_pt(p: Path) -> tuple[Any, torch.Tensor | None, dict[str, Any]]:
    obj = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(obj, dict):
        return obj, None, {}
    if "centroids" not in obj:
        raise CentroidFileError(f"{p.name} holds a dict without a 'centroids' key (keys: {sorted(obj)[:8]})")
    center = obj["center"] if isinstance(obj.get("center"), torch.Tensor) else None
    return obj["centroids"], center, dict(obj.get("metadata") or {})


def _read_safetensors(p: Path) -> tuple[Any, torch.Tensor | None, dict[str, Any]]:
    from safetensors import safe_open

    with safe_open(str(p), framework="pt") as fh:
        keys = list(fh.keys())
        if "centroids" not in keys and len(keys) != 1:
            raise CentroidFileError(f"{p.name} has tensors {keys[:8]} but none named 'centroids'")
        centroids = fh.get_tensor("centroids" if "centroids" in keys else keys[0])
        center = fh.get_tensor("center") if "center" in keys else None
        raw_meta = fh.metadata() or {}
    return centroids, center, json.loads(raw_meta["metadata"]) if "metadata" in raw_meta else {}


def read_centroid_file(path: str | os.PathLike[str]) -> CentroidFile:
    """Centroids, centre and fit info. `.pt` files are read with weights_only=True, so no code runs."""
    p = Path(path)
    if not p.is_file():
        raise CentroidFileError(f"centroids file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix in (".pt", ".pth"):
            centroids, center, metadata = _read_pt(p)
        elif suffix == ".safetensors":
            centroids, center, metadata = _read_safetensors(p)
        elif suffix == ".npy":
            centroids, center, metadata = torch.from_numpy(np.load(p, allow_pickle=False)), None, {}
        else:
            raise CentroidFileError(f"unsupported centroids file type {suffix!r}; use .pt, .safetensors or .npy")
    except CentroidFileError:
        raise
    except Exception as exc:  # a corrupt file surfaces as many types (struct.error, UnpicklingError, ...)
        raise CentroidFileError(
            f"cannot read centroids from {p.name}: corrupt or not a centroids file ({exc})"
        ) from exc
    try:
        centroids = validate_centroids(centroids)
    except InputError as exc:
        raise CentroidFileError(f"{p.name}: {exc}") from exc
    return CentroidFile(centroids, center, FitInfo.from_dict(metadata))


def load_kmeans_centroids(path: str | os.PathLike[str]) -> tuple[torch.Tensor, dict[str, Any]]:
    """Load centroids and metadata (the public form: a dict, with "center" when the file holds one)."""
    file = read_centroid_file(path)
    metadata = file.info.to_dict()
    if file.center is not None:
        metadata["center"] = file.center
    return file.centroids, metadata


def save_kmeans_centroids(
    path: str | os.PathLike[str],
    centroids: torch.Tensor,
    metadata: FitInfo | dict[str, Any],
    center: torch.Tensor | None = None,
) -> None:
    """Write centroids, fit info (one JSON form, `FitInfo.to_dict`) and centre, atomically."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    info = metadata if isinstance(metadata, FitInfo) else FitInfo.from_dict(metadata)
    obj: dict[str, Any] = {"centroids": centroids.detach().cpu().float(), "metadata": info.to_dict()}
    if center is not None:
        obj["center"] = center.detach().cpu().float()
    torch.save(obj, tmp)
    os.replace(tmp, p)
