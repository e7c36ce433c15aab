"""Fidelity: how much of the model the k-means codebook carries, and what each centroid does to the output."""
