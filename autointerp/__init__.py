"""k-means autointerp: cluster a language model's activations, explain each centroid with a measured
confidence, and analyse any sentence token by token.

The heavy names (torch, the model stack) load on first use, so `python -m autointerp` can refuse bad
input in well under a second instead of after seconds of imports."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from autointerp.config import BuildConfig
from autointerp.errors import AutoInterpError, InputError

if TYPE_CHECKING:
    from autointerp.core.centroids_io import load_kmeans_centroids, save_kmeans_centroids
    from autointerp.explain.explanation_cache import CentroidExplanationCache
    from autointerp.interp import KMeansAutoInterp, SentenceAnalysis
    from autointerp.records import CentroidExplanation, ValidationExample

_LAZY = {
    "load_kmeans_centroids": "autointerp.core.centroids_io",
    "save_kmeans_centroids": "autointerp.core.centroids_io",
    "CentroidExplanationCache": "autointerp.explain.explanation_cache",
    "KMeansAutoInterp": "autointerp.interp",
    "SentenceAnalysis": "autointerp.interp",
    "CentroidExplanation": "autointerp.records",
    "ValidationExample": "autointerp.records",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'autointerp' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "AutoInterpError",
    "BuildConfig",
    "CentroidExplanation",
    "CentroidExplanationCache",
    "InputError",
    "KMeansAutoInterp",
    "SentenceAnalysis",
    "ValidationExample",
    "load_kmeans_centroids",
    "save_kmeans_centroids",
]
