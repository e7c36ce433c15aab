"""The meta-interpretation prompt: an LLM writes from the grounded facts of one analysed sentence."""

from __future__ import annotations

import json
from typing import Any

from autointerp.constants import LOW_CONFIDENCE

PROMPT_VERSION = "meta-1"


def meta_prompt(facts: list[dict[str, Any]]) -> str:
    return (
        "You summarise how a language model processed a text, using ONLY the facts below. Each fact is a k-means "
        "centroid of the model's activations, the tokens assigned to it, its explanation and a confidence measured "
        "on held-out data. Group tokens into structure/punctuation, function words and semantic categories. Cite "
        "token strings, centroid ids and confidences for every claim. Call any centroid with confidence below "
        f"{LOW_CONFIDENCE} uncertain; do not assert it. Facts whose confidence is null were not measured: do not "
        "call them confident. Write at most 12 lines.\n\nFACTS (JSON):\n" + json.dumps(facts)
    )
