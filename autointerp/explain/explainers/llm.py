"""Free-text explanations from an LLM, prompted with banded examples in context and contrasting neighbours."""

from __future__ import annotations

from autointerp.errors import LLMError
from autointerp.explain.clients.base import LLMClient, parse_json_object
from autointerp.explain.explainers.base import ClusterEvidence, ExplanationDraft
from autointerp.explain.prompts.explain import PROMPT_VERSION, SCHEMA, explanation_prompt


class LLMExplainer:
    prompt_version = PROMPT_VERSION

    def __init__(self, client: LLMClient):
        self.client = client
        self.name = f"llm:{client.name}"

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft:
        prompt = explanation_prompt(evidence)
        answer = parse_json_object(await self.client.complete(prompt, max_tokens=200, schema=SCHEMA))
        if not isinstance(answer.get("explanation"), str):
            raise LLMError(f"the LLM answer lacks an 'explanation' string: {str(answer)[:120]}")
        text = answer["explanation"].strip()
        if not text:
            raise LLMError("the LLM returned an empty explanation")
        stated = answer.get("confidence")
        return ExplanationDraft(
            explanation=text,
            explainer=self.name,
            evidence={
                "top_tokens": evidence.top_tokens[:8],
                "next_tokens": evidence.next_tokens[:5],
                "prompt_chars": len(prompt),
            },
            stated_confidence=float(stated) if isinstance(stated, (int, float)) else None,
            model=self.client.model,
            prompt_version=PROMPT_VERSION,
        )
