"""Prompt texts, one module per task, kept apart from the logic that sends them."""
