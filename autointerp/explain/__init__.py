"""Explain stage: evidence, explainers, scorers, LLM clients, prompts, the cache and its provenance."""
