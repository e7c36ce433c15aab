"""Build stage: model loading, corpus, activations, k-means, indexes, and the engines that run them."""
