"""The detection prompt: which held-out contexts does an explanation fit?"""

from __future__ import annotations

from typing import Any

from autointerp.explain.explainers.contract import TokenEvidence

BATCH = 10  # examples per detection call


def detection_schema(n: int) -> dict[str, Any]:
    """One required 0/1 key per example: exactly n labels, each next to its number, within the schema
    subset every provider enforces in strict mode (an array's length limits are not in it)."""
    keys = [str(i + 1) for i in range(n)]
    return {
        "title": "detection_labels",
        "type": "object",
        "properties": {k: {"type": "integer", "enum": [0, 1]} for k in keys},
        "required": keys,
        "additionalProperties": False,
    }


def detection_prompt(explanation: str, items: list[TokenEvidence]) -> str:
    lines = [
        f'A feature of a language model is explained as: "{explanation}".',
        "For each numbered example, answer 1 if the marked <<token>> fits the explanation, else 0. "
        'Reply with JSON only, one key per example number: {"1": 0 or 1, "2": 0 or 1, ...}.',
        "",
    ]
    lines += [f"{i + 1}. {t.context}" for i, t in enumerate(items)]
    return "\n".join(lines)
