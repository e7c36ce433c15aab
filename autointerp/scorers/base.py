"""Measured confidence: balanced accuracy of an explanation on held-out members vs non-members."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from ..explainers.base import ExplanationDraft, TokenEvidence

MIN_POSITIVES = 8


@dataclass
class ScoringSet:
    """Held-out tokens the explainer never saw."""

    positives: list[TokenEvidence]
    hard_negatives: list[TokenEvidence]  # members of the nearest other centroids
    random_negatives: list[TokenEvidence]


@dataclass
class ScoreResult:
    method: str
    balanced_accuracy: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    tpr: float | None = None
    tnr_hard: float | None = None
    tnr_random: float | None = None
    n_pos: int = 0
    n_hard: int = 0
    n_random: int = 0
    status: str = "scored"  # scored | insufficient-data | failed
    detail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "scored" and self.balanced_accuracy is not None

    @property
    def confidence(self) -> float:
        """Chance (0.5) maps to 0 and perfect separation to 1: confidence = clip(2·(BA − 0.5), 0, 1)."""
        if not self.ok:
            return 0.0
        return float(min(1.0, max(0.0, 2.0 * (self.balanced_accuracy - 0.5))))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["confidence"] = self.confidence
        d["chance"] = 0.5
        return d


def summarise(method: str, pos_hits: list[bool], hard_hits: list[bool], rand_hits: list[bool]) -> ScoreResult:
    """Balanced accuracy with negatives weighted half hard, half random, and a normal-approximation 95% CI."""
    n_p, n_h, n_r = len(pos_hits), len(hard_hits), len(rand_hits)
    if n_p < MIN_POSITIVES or (n_h + n_r) < MIN_POSITIVES:
        return ScoreResult(
            method,
            None,
            n_pos=n_p,
            n_hard=n_h,
            n_random=n_r,
            status="insufficient-data",
            detail=f"need at least {MIN_POSITIVES} held-out members and non-members",
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
