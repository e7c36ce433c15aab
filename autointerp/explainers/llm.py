"""Free-text explanations from an LLM, prompted with banded examples in context and contrasting neighbours."""

from __future__ import annotations

from typing import Any

from ..clients.base import call_generate, complete_text, parse_json_object
from ..errors import LLMError
from .base import ClusterEvidence, ExplanationDraft

PROMPT_VERSION = "llm-explain-1"


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


class LLMExplainer:
    """Wraps any client: our HTTP clients (complete) or a user's object with generate(prompt)."""

    prompt_version = PROMPT_VERSION

    def __init__(self, client: Any):
        self.client = client
        self.name = f"llm:{getattr(client, 'name', type(client).__name__)}"

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft:
        prompt = explanation_prompt(evidence)
        if hasattr(self.client, "complete"):
            answer: Any = parse_json_object(await complete_text(self.client, prompt, max_tokens=200))
        else:
            answer = await call_generate(self.client, prompt)
            if isinstance(answer, str):
                answer = parse_json_object(answer)
        if not isinstance(answer, dict) or not isinstance(answer.get("explanation"), str):
            raise LLMError(f"the LLM answer lacks an 'explanation' string: {str(answer)[:120]}")
        text = answer["explanation"].strip()
        if not text:
            raise LLMError("the LLM returned an empty explanation")
        stated = answer.get("confidence")
        try:
            stated = float(stated) if stated is not None else None
        except (TypeError, ValueError):
            stated = None
        return ExplanationDraft(
            explanation=text,
            explainer=self.name,
            evidence={
                "flags": evidence.flags,
                "top_tokens": evidence.top_tokens[:8],
                "next_tokens": evidence.next_tokens[:5],
                "prompt_chars": len(prompt),
            },
            stated_confidence=stated,
            model=getattr(self.client, "model", None),
            prompt_version=PROMPT_VERSION,
        )
