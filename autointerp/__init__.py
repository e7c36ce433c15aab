"""k-means autointerp: cluster a language model's activations, explain each centroid with a measured
confidence, and analyse any sentence token by token."""

from autointerp.config import BuildConfig
from autointerp.core.centroids_io import load_kmeans_centroids, save_kmeans_centroids
from autointerp.errors import AutoInterpError, InputError
from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.interp import KMeansAutoInterp, SentenceAnalysis
from autointerp.records import CentroidExplanation, ValidationExample

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
