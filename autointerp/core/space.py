"""The centroids as a space to assign into: normalisation, nearest centroids, activation, neighbours."""

from __future__ import annotations

import numpy as np
import torch

from autointerp.core.index import Distance, TokenRecords, ValidationIndex, activation_from_distance
from autointerp.core.search import Nearest, nearest_two, normalise
from autointerp.data.corpus import pad_windows
from autointerp.errors import InputError


def centroid_neighbours(centroids: torch.Tensor, n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Nearest other centroids and their distances, each (k, n): hard negatives for explaining and
    scoring, and the neighbour list the browser shows."""
    d = torch.cdist(centroids.float(), centroids.float())
    d.fill_diagonal_(float("inf"))
    n = min(n, centroids.shape[0] - 1)
    top = torch.topk(d, k=max(n, 0), largest=False)
    return top.indices, top.values


class CentroidSpace:
    """Centroids plus how activations are mapped into their space ("cosine": centre, unit-normalise)."""

    def __init__(self, centroids: torch.Tensor, center: torch.Tensor | None, normalisation: str):
        self.centroids = centroids.float()
        self.center = center.float() if center is not None else None
        self.normalisation = normalisation
        self.hidden_dim = int(centroids.shape[1])
        self.neighbour_ids, self.neighbour_distances = centroid_neighbours(self.centroids)

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    def check_id(self, centroid_id: int) -> int:
        if not isinstance(centroid_id, (int, np.integer)) or not 0 <= int(centroid_id) < self.k:
            raise InputError(f"centroid id {centroid_id!r} is out of range 0..{self.k - 1}")
        return int(centroid_id)

    def normalised(self, activations: torch.Tensor) -> torch.Tensor:
        """(n, hidden) in the centroids' space, after checking shape and finiteness."""
        if not isinstance(activations, torch.Tensor):
            raise InputError(f"activations must be a tensor, got {type(activations).__name__}")
        if activations.ndim < 1 or activations.shape[-1] != self.hidden_dim:
            raise InputError(
                f"activations must end in the hidden size {self.hidden_dim}, got {tuple(activations.shape)}"
            )
        if not torch.isfinite(activations).all():
            raise InputError("activations contain NaN or Inf")
        return normalise(activations.reshape(-1, self.hidden_dim), self.center, self.normalisation)

    def nearest(self, activations: torch.Tensor) -> Nearest:
        return nearest_two(self.normalised(activations), self.centroids)

    def activation(self, distance: Distance) -> Distance:
        return activation_from_distance(distance, self.normalisation)

    def in_model_space(self, centroid_id: int, typical_norm: float | None = None) -> torch.Tensor:
        """Undo the normalisation: centre + direction scaled to the typical centred norm (the build's
        median, else the centre's norm), so the centroid can be read as a residual-stream state."""
        c = self.centroids[centroid_id]
        if self.normalisation != "cosine":
            return c
        center = self.center if self.center is not None else torch.zeros_like(c)
        return center + c * float(typical_norm or center.norm() or 1.0)


def centroid_map(centroids: torch.Tensor) -> np.ndarray:
    """2-D PCA coordinates of the centroids (deterministic sign)."""
    x = centroids.float() - centroids.float().mean(0)
    if x.shape[0] < 2:
        return np.zeros((x.shape[0], 2))
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    xy = (x @ v[:2].T).numpy()
    signs = np.sign(xy[np.abs(xy).argmax(0), range(xy.shape[1])])
    return xy * np.where(signs == 0, 1, signs)


def split_activations(
    acts: torch.Tensor, tokens: torch.Tensor | None, space: CentroidSpace
) -> list[tuple[ValidationIndex, np.ndarray]]:
    """User-supplied (samples, seq, hidden) activations, split 70/30 by sample into an index for
    explaining and one for scoring, with their token windows."""
    d = space.hidden_dim
    if not isinstance(acts, torch.Tensor) or acts.ndim != 3 or acts.shape[-1] != d:
        shape = tuple(acts.shape) if isinstance(acts, torch.Tensor) else type(acts).__name__
        raise InputError(f"validation_activations must be (num_samples, seq_len, {d}), got {shape}")
    if tokens is None or tuple(tokens.shape) != tuple(acts.shape[:2]):
        got = None if tokens is None else tuple(tokens.shape)
        raise InputError(f"validation_tokens must be (num_samples, seq_len) = {tuple(acts.shape[:2])}, got {got}")
    if not torch.isfinite(acts).all():
        raise InputError("validation_activations contain NaN or Inf")
    n, seq = acts.shape[0], acts.shape[1]
    cut = max(1, int(round(n * 0.7))) if n > 1 else n
    parts = []
    for rows in (list(range(0, cut)), list(range(cut, n))):
        a = acts[rows].reshape(-1, d).float()
        near = space.nearest(a)
        win = torch.arange(len(rows)).repeat_interleave(seq)
        pos = torch.arange(seq).repeat(len(rows))
        rec = TokenRecords.from_batch(near, win, pos, tokens[rows].reshape(-1), a.norm(dim=1))
        parts.append((ValidationIndex(rec, space.k), pad_windows(tokens[rows].tolist())))
    return parts
