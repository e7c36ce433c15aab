"""Prompts for the local model's label choice: the cluster's examples, and a content-free baseline."""

from __future__ import annotations

from autointerp.explain.explainers.contract import TokenEvidence

PROMPT_VERSION = "local-choose-1"
QUESTION = "The group of marked words is best described as:"


def choice_prompt(examples: list[TokenEvidence]) -> str:
    shown = "\n".join(f"- {t.context}" for t in examples)
    return f"Marked words <<like this>> from one group:\n{shown}\n{QUESTION}"


def null_prompt() -> str:
    """Content-free: a label's log-probability here is its prior, subtracted to calibrate."""
    return f"Marked words <<like this>> from one group:\n- N/A\n{QUESTION}"
