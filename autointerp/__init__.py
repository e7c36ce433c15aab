"""k-means autointerp: cluster a language model's activations, explain each centroid with a measured
confidence, and analyse any sentence token by token."""

from .cache import CentroidExplanationCache
from .centroids_io import load_kmeans_centroids, save_kmeans_centroids
from .config import BuildConfig
from .errors import AutoInterpError, InputError
from .interp import KMeansAutoInterp, SentenceAnalysis
from .records import CentroidExplanation, ValidationExample

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
