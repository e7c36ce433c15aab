"""Free-text explanations from an LLM, prompted with banded examples in context and contrasting neighbours."""

from __future__ import annotations

import json
import re
from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.protocol import LLMClient, parse_json_object
from autointerp.explain.explainers.contract import ClusterEvidence, ExplanationDraft
from autointerp.explain.prompts.explain import PROMPT_VERSION, SCHEMA, explanation_prompt

# The start of a structured answer that max_tokens cut off inside its explanation (small models ramble).
CUT_ANSWER = re.compile(r'^\s*\{\s*"explanation"\s*:\s*"((?:[^"\\]|\\.)*)')


def read_answer(text: str) -> tuple[dict[str, Any], bool]:
    """The answer object, and whether it was cut off: then the explanation written so far is kept."""
    try:
        return parse_json_object(text), False
    except LLMError:
        m = CUT_ANSWER.match(text)
        if not m or not m.group(1).strip():
            raise
        try:
            written = json.loads(f'"{m.group(1)}"')
        except json.JSONDecodeError:
            written = m.group(1)
        return {"explanation": written}, True


class LLMExplainer:
    prompt_version = PROMPT_VERSION
    reads_context = True

    def __init__(self, client: LLMClient):
        self.client = client
        self.name = f"llm:{client.name}"

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft:
        prompt = explanation_prompt(evidence)
        answer, cut = read_answer(await self.client.complete(prompt, max_tokens=200, schema=SCHEMA))
        if not isinstance(answer.get("explanation"), str):
            raise LLMError(
                f"the LLM answer lacks an 'explanation' string: {str(answer)[:120]}", reason="unreadable answer"
            )
        text = answer["explanation"].strip()
        if not text:
            raise LLMError("the LLM returned an empty explanation", reason="unreadable answer")
        stated = answer.get("confidence")
        return ExplanationDraft(
            explanation=text,
            explainer=self.name,
            evidence={
                "top_tokens": evidence.top_tokens[:8],
                "next_tokens": evidence.next_tokens[:5],
                "prompt_chars": len(prompt),
                "answer_cut_off": cut,
            },
            stated_confidence=float(stated) if isinstance(stated, (int, float)) else None,
            model=self.client.model,
            prompt_version=PROMPT_VERSION,
        )
