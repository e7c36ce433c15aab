"""Detection scoring of free-text explanations through an LLM: which held-out contexts match?"""

from __future__ import annotations

import json
import random
import re
from typing import Any

from autointerp.errors import LLMError
from autointerp.explain.clients.protocol import LLMClient, parse_json_object
from autointerp.explain.explainers.contract import ExplanationDraft
from autointerp.explain.prompts.detect import BATCH, detection_prompt, detection_schema
from autointerp.explain.scorers.balanced_accuracy import ScoreResult, ScoringSet, summarise
from autointerp.records import Status


def parse_labels(text: str, n: int) -> list[bool]:
    """n labels from {"1": 0/1, ...} (the schema), {"labels": [...]} or a bare [...] list."""
    try:
        obj: dict[str, Any] | None = parse_json_object(text)
    except LLMError:
        obj = None
    if obj is not None and all(str(i + 1) in obj for i in range(n)):
        labels: Any = [obj[str(i + 1)] for i in range(n)]
    elif obj is not None and isinstance(obj.get("labels"), list):
        labels = obj["labels"]
    else:
        m = re.search(r"\[[^\]]*\]", text)
        if not m:
            raise LLMError(f"expected {n} labels of 0/1, got {text[:100]!r}", reason="unreadable answer")
        try:
            labels = json.loads(m.group(0))
        except json.JSONDecodeError as exc:
            raise LLMError(f"unparseable label list: {text[:100]!r}", reason="unreadable answer") from exc
    if len(labels) != n or any(x not in (0, 1, True, False) for x in labels):
        raise LLMError(f"expected {n} labels of 0/1, got {labels!r}", reason="unreadable answer")
    return [bool(x) for x in labels]


class DetectionScorer:
    """Free text measured through an LLM: it labels shuffled held-out members and non-members."""

    name = "llm-detection"

    def __init__(self, client: LLMClient, sample: int = 40, seed: int = 0):
        self.client = client
        self.sample = sample
        self.seed = seed

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
            prompt = detection_prompt(draft.explanation, [t for _, t in chunk])
            text = await self.client.complete(prompt, max_tokens=120, schema=detection_schema(len(chunk)))
            for (g, _), label in zip(chunk, parse_labels(text, len(chunk)), strict=True):
                hits[g].append(label)
        return summarise(self.name, hits["pos"], hits["hard"], hits["rand"])


class UnscoredScorer:
    """Nothing can measure this explanation here: the result says so, and is never a guessed number."""

    name = "none"

    def __init__(self, detail: str = "no LLM scorer is configured and the text does not read as a rule"):
        self.detail = detail

    async def score(self, draft: ExplanationDraft, data: ScoringSet) -> ScoreResult:
        return ScoreResult(self.name, None, status=Status.UNSCORED, detail=self.detail)
