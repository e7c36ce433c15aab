"""The prompt that asks an LLM to explain one cluster from its banded members and nearest neighbours."""

from __future__ import annotations

from typing import Any

from autointerp.explain.explainers.contract import ClusterEvidence

PROMPT_VERSION = "llm-explain-2"  # 2: the answer's JSON schema is enforced by structured outputs
# The answer the prompt asks for, enforced by servers with structured outputs. Kept to the subset every
# provider accepts in strict mode: all fields required, no extra fields, no length or range limits.
SCHEMA: dict[str, Any] = {
    "title": "cluster_explanation",
    "type": "object",
    "properties": {
        "explanation": {"type": "string", "description": "the concept the cluster captures, at most 12 words"},
        "confidence": {"type": "number", "description": "how sure you are, from 0 to 1"},
    },
    "required": ["explanation", "confidence"],
    "additionalProperties": False,
}


def explanation_prompt(ev: ClusterEvidence, per_band: int = 5, contrast: int = 8) -> str:
    lines = [
        "We clustered a language model's hidden activations with k-means. Below are tokens that belong to ONE "
        "cluster, each shown in context with the token marked as <<token>>. They are sampled from the cluster's "
        "core to its edge. Then come tokens from the NEAREST OTHER clusters, which this cluster must be told apart "
        "from.",
        "Name the concept the cluster captures (the token's role, meaning or context), not a list of words. "
        "If one word dominates, say which context distinguishes it. Answer with JSON only: "
        '{"explanation": "<at most 12 words>", "confidence": <0..1>}',
        "",
        "CLUSTER MEMBERS:",
    ]
    for b, band in enumerate(ev.bands):
        for t in band[:per_band]:
            lines.append(f"[band {b + 1}] {t.context}")
    lines += ["", "NEAREST OTHER CLUSTERS (not members):"]
    lines += [f"- {t.context}" for t in ev.contrast[:contrast]]
    if ev.next_tokens:
        lines += ["", "Most frequent next tokens: " + ", ".join(repr(t) for t, _ in ev.next_tokens[:5])]
    return "\n".join(lines)
