"""The meta-interpretation prompt: an LLM writes from the grounded facts of one analysed sentence."""

from __future__ import annotations

import json
from typing import Any

from autointerp.constants import LOW_CONFIDENCE

PROMPT_VERSION = "meta-2"  # 2: structured claims citing centroid ids
# The answer meta_prompt asks for, enforced by servers with structured outputs. Every claim names the
# centroids it rests on, so it can be checked against the facts and shown with their measured confidence.
SCHEMA: dict[str, Any] = {
    "title": "sentence_interpretation",
    "type": "object",
    "properties": {
        "claims": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "description": "one claim about how the model processed the text"},
                    "centroid_ids": {"type": "array", "items": {"type": "integer"}},
                },
                "required": ["text", "centroid_ids"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["claims"],
    "additionalProperties": False,
}


def meta_prompt(facts: list[dict[str, Any]]) -> str:
    return (
        "You summarise how a language model processed a text, using ONLY the facts below. Each fact is a k-means "
        "centroid of the model's activations, the tokens assigned to it, its explanation and a confidence measured "
        "on held-out data. Group tokens into structure/punctuation, function words and semantic categories. Cite "
        "token strings for every claim, and list the ids of the centroids it rests on. Call any centroid with "
        f"confidence below {LOW_CONFIDENCE} uncertain; do not assert it. Facts whose confidence is null were not "
        "measured: do not call them confident. Make at most 12 claims. Answer with JSON only: "
        '{"claims": [{"text": "<claim>", "centroid_ids": [<ids>]}]}\n\nFACTS (JSON):\n' + json.dumps(facts)
    )
