"""Core: what every stage stands on (model, activations, centroid space, search, index)."""
