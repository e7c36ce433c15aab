"""Reading and writing centroid files (.pt, .safetensors, .npy) with their metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autointerp.errors import CentroidFileError, InputError


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


def load_kmeans_centroids(path: str | os.PathLike[str]) -> tuple[torch.Tensor, dict[str, Any]]:
    """Load centroids and metadata. `.pt` files are read with weights_only=True, so no code runs."""
    p = Path(path)
    if not p.is_file():
        raise CentroidFileError(f"centroids file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    metadata: dict[str, Any] = {}
    try:
        if suffix in (".pt", ".pth"):
            obj = torch.load(p, map_location="cpu", weights_only=True)
            if isinstance(obj, dict):
                if "centroids" not in obj:
                    raise CentroidFileError(
                        f"{p.name} holds a dict without a 'centroids' key (keys: {sorted(obj)[:8]})"
                    )
                centroids = obj["centroids"]
                metadata = dict(obj.get("metadata") or {})
                if isinstance(obj.get("center"), torch.Tensor):
                    metadata["center"] = obj["center"]
            else:
                centroids = obj
        elif suffix == ".safetensors":
            from safetensors import safe_open

            with safe_open(str(p), framework="pt") as fh:
                keys = list(fh.keys())
                if "centroids" not in keys and len(keys) != 1:
                    raise CentroidFileError(f"{p.name} has tensors {keys[:8]} but none named 'centroids'")
                centroids = fh.get_tensor("centroids" if "centroids" in keys else keys[0])
                if "center" in keys:
                    metadata["center"] = fh.get_tensor("center")
                raw_meta = fh.metadata() or {}
            if "metadata" in raw_meta:
                metadata.update(json.loads(raw_meta["metadata"]))
        elif suffix == ".npy":
            centroids = torch.from_numpy(np.load(p, allow_pickle=False))
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
    return centroids, metadata


def save_kmeans_centroids(
    path: str | os.PathLike[str], centroids: torch.Tensor, metadata: dict[str, Any], center: torch.Tensor | None = None
) -> None:
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    obj: dict[str, Any] = {"centroids": centroids.detach().cpu().float(), "metadata": metadata}
    if center is not None:
        obj["center"] = center.detach().cpu().float()
    torch.save(obj, tmp)
    os.replace(tmp, p)
