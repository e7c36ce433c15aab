"""Measured confidence: balanced accuracy of an explanation on held-out members vs non-members."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from autointerp.constants import MIN_SCORING_TOKENS
from autointerp.explain.explainers.contract import ExplanationDraft, TokenEvidence
from autointerp.records import ScoreResult, Status

__all__ = ["ScoreResult", "Scorer", "ScoringSet", "summarise"]


@dataclass
class ScoringSet:
    """Held-out tokens the explainer never saw."""

    positives: list[TokenEvidence]
    hard_negatives: list[TokenEvidence]  # members of the nearest other centroids
    random_negatives: list[TokenEvidence]


def summarise(method: str, pos_hits: list[bool], hard_hits: list[bool], rand_hits: list[bool]) -> ScoreResult:
    """Balanced accuracy with negatives weighted half hard, half random, and a normal-approximation 95% CI."""
    n_p, n_h, n_r = len(pos_hits), len(hard_hits), len(rand_hits)
    if n_p < MIN_SCORING_TOKENS or (n_h + n_r) < MIN_SCORING_TOKENS:
        return ScoreResult(
            method,
            None,
            n_pos=n_p,
            n_hard=n_h,
            n_random=n_r,
            status=Status.INSUFFICIENT_DATA,
            detail=f"need at least {MIN_SCORING_TOKENS} held-out members and non-members",
        )
    tpr = sum(pos_hits) / n_p
    groups = [(1 - sum(h) / len(h), len(h)) for h in (hard_hits, rand_hits) if h]
    tnr = sum(g[0] for g in groups) / len(groups)
    var_tnr = sum(g[0] * (1 - g[0]) / g[1] for g in groups) / len(groups) ** 2
    ba = (tpr + tnr) / 2
    se = math.sqrt((tpr * (1 - tpr) / n_p + var_tnr) / 4)
    return ScoreResult(
        method,
        round(ba, 4),
        ci_low=round(max(0.0, ba - 1.96 * se), 4),
        ci_high=round(min(1.0, ba + 1.96 * se), 4),
        tpr=round(tpr, 4),
        tnr_hard=round(1 - sum(hard_hits) / n_h, 4) if n_h else None,
        tnr_random=round(1 - sum(rand_hits) / n_r, 4) if n_r else None,
        n_pos=n_p,
        n_hard=n_h,
        n_random=n_r,
    )


@runtime_checkable
class Scorer(Protocol):
    name: str

    async def score(self, draft: ExplanationDraft, data: ScoringSet) -> ScoreResult: ...
