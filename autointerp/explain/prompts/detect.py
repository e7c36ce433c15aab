"""The detection prompt: which held-out contexts does an explanation fit?"""

from __future__ import annotations

from autointerp.explain.explainers.base import TokenEvidence

BATCH = 10  # examples per detection call
SCHEMA = {
    "type": "object",
    "properties": {"labels": {"type": "array", "items": {"type": "integer", "enum": [0, 1]}}},
    "required": ["labels"],
}


def detection_prompt(explanation: str, items: list[TokenEvidence]) -> str:
    lines = [
        f'A feature of a language model is explained as: "{explanation}".',
        "For each numbered example, answer 1 if the marked <<token>> fits the explanation, else 0. "
        "Reply with a JSON list of 0/1 only, one per example.",
        "",
    ]
    lines += [f"{i + 1}. {t.context}" for i, t in enumerate(items)]
    return "\n".join(lines)
