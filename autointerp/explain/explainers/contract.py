"""What every explainer receives and returns."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass
class TokenEvidence:
    token: str
    context: str  # the window with the token marked as <<token>>
    features: AbstractSet[str]
    activation: float
    distance: float


@dataclass
class ClusterEvidence:
    """A centroid's validation members sampled across distance bands, plus contrasting neighbours."""

    centroid_id: int
    bands: list[list[TokenEvidence]]  # core first, edge last
    contrast: list[TokenEvidence]  # members of the nearest other centroids
    background: list[TokenEvidence]  # random non-members
    neighbours: list[int]
    population: int
    flags: list[str] = field(default_factory=list)
    top_tokens: list[tuple[str, float]] = field(default_factory=list)
    next_tokens: list[tuple[str, float]] = field(default_factory=list)

    @property
    def members(self) -> list[TokenEvidence]:
        return [t for band in self.bands for t in band]


@dataclass
class Rule:
    """A structured explanation in disjunctive normal form over token features; exact to check."""

    terms: list[frozenset[str]]

    def matches(self, features: AbstractSet[str]) -> bool:
        return any(term <= features for term in self.terms)

    def to_json(self) -> list[list[str]]:
        return [sorted(t) for t in self.terms]

    @classmethod
    def from_json(cls, data: list[list[str]]) -> Rule:
        return cls([frozenset(t) for t in data])


@dataclass
class ExplanationDraft:
    explanation: str
    explainer: str
    rule: Rule | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    stated_confidence: float | None = None  # whatever an LLM claimed; never shown as the confidence
    model: str | None = None
    prompt_version: str | None = None


@runtime_checkable
class Explainer(Protocol):
    name: str
    reads_context: bool  # False: evidence may come without the context strings (drawing them is most of its cost)

    async def explain(self, evidence: ClusterEvidence) -> ExplanationDraft: ...
