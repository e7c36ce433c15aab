"""Detection scoring of free-text explanations through an LLM: which held-out contexts match?"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from ..clients.base import complete_text
from ..errors import LLMError
from ..explainers.base import ExplanationDraft, TokenEvidence
from .base import ScoreResult, ScoringSet, summarise

BATCH = 10


def detection_prompt(explanation: str, items: list[TokenEvidence]) -> str:
    lines = [
        f'A feature of a language model is explained as: "{explanation}".',
        "For each numbered example, answer 1 if the marked <<token>> fits the explanation, else 0. "
        "Reply with a JSON list of 0/1 only, one per example.",
        "",
    ]
    lines += [f"{i + 1}. {t.context}" for i, t in enumerate(items)]
    return "\n".join(lines)


def parse_labels(text: str, n: int) -> list[bool]:
    m = re.search(r"\[[^\]]*\]", text)
    if not m:
        raise LLMError(f"expected a JSON list of {n} labels, got {text[:100]!r}")
    try:
        labels = json.loads(m.group(0))
    except json.JSONDecodeError as exc:
        raise LLMError(f"unparseable label list: {text[:100]!r}") from exc
    if len(labels) != n or any(x not in (0, 1, True, False) for x in labels):
        raise LLMError(f"expected {n} labels of 0/1, got {labels!r}")
    return [bool(x) for x in labels]


class DetectionScorer:
    name = "llm-detection"

    def __init__(self, client: Any, sample: int = 40, seed: int = 0):
        self.client = client
        self.sample = sample
        self.seed = seed

    @classmethod
    def for_client(cls, client: Any) -> DetectionScorer | UnscoredScorer:
        return cls(client) if client is not None and hasattr(client, "complete") else UnscoredScorer()

    async def score(self, draft: ExplanationDraft, data: ScoringSet) -> ScoreResult:
        rng = random.Random(self.seed)
        groups = {
            "pos": data.positives[: self.sample],
            "hard": data.hard_negatives[: self.sample // 2],
            "rand": data.random_negatives[: self.sample // 2],
        }
        items = [(g, t) for g, ts in groups.items() for t in ts]
        rng.shuffle(items)
        hits: dict[str, list[bool]] = {g: [] for g in groups}
        for s in range(0, len(items), BATCH):
            chunk = items[s : s + BATCH]
            text = await complete_text(
                self.client, detection_prompt(draft.explanation, [t for _, t in chunk]), max_tokens=100
            )
            for (g, _), label in zip(chunk, parse_labels(text, len(chunk)), strict=True):
                hits[g].append(label)
        return summarise(self.name, hits["pos"], hits["hard"], hits["rand"])


class UnscoredScorer:
    """For clients that can only generate explanations: the result is marked unscored, never guessed."""

    name = "none"

    async def score(self, draft: ExplanationDraft, data: ScoringSet) -> ScoreResult:
        return ScoreResult(
            self.name, None, status="unscored", detail="this client cannot run detection scoring (it has no complete())"
        )
