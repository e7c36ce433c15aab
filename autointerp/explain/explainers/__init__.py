"""Explainers turn a centroid's evidence into an explanation; each is one pluggable part."""
