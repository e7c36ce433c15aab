"""Exact scoring of structured (rule) explanations: no LLM, no sampling noise beyond the held-out draw."""

from __future__ import annotations

from autointerp.explain.explainers.contract import ExplanationDraft
from autointerp.explain.scorers.balanced_accuracy import ScoreResult, ScoringSet, summarise
from autointerp.records import Status


class RuleScorer:
    name = "exact-rule"

    async def score(self, draft: ExplanationDraft, data: ScoringSet) -> ScoreResult:
        if draft.rule is None:
            return ScoreResult(self.name, None, status=Status.FAILED, detail="explanation has no structured rule")
        m = draft.rule.matches
        return summarise(
            self.name,
            [m(t.features) for t in data.positives],
            [m(t.features) for t in data.hard_negatives],
            [m(t.features) for t in data.random_negatives],
        )
