"""Centroid colours: any two centroids of a workspace look different, and every colour keeps dark text legible."""

from __future__ import annotations

import numpy as np

from autointerp.ui.chips import centroid_color, srgb_to_lab


def lab_of(ids: range) -> np.ndarray:
    rgb = np.array([[int(c[i : i + 2], 16) / 255 for i in (1, 3, 5)] for c in map(centroid_color, ids)])
    return srgb_to_lab(rgb)


def min_distance(lab: np.ndarray) -> float:
    d = np.linalg.norm(lab[:, None] - lab[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return float(d.min())


def test_srgb_to_lab_matches_reference_values():
    lab = srgb_to_lab(np.array([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    assert np.allclose(lab, [[100, 0, 0], [53.24, 80.09, 67.20], [0, 0, 0]], atol=0.1)


def test_every_two_of_the_default_256_centroids_differ_visibly():
    """The issue saw c80 #aaedd6 next to c59 #aaedde (CIELAB distance about 2). A distance of 10 is plain to
    see side by side; the few colours of one short text are far apart."""
    lab = lab_of(range(256))
    assert min_distance(lab) > 9.5
    assert min_distance(lab[:32]) > 20
    assert np.linalg.norm(lab[80] - lab[59]) > 9.5
    assert lab[:, 0].min() >= 62  # light enough for the chips' dark text


def test_colours_are_stable_whatever_k_is():
    assert [centroid_color(i) for i in range(5)] == [centroid_color(i) for i in range(5)]
    assert len({centroid_color(i) for i in range(600)}) == 600  # a larger k extends the palette, never wraps
