"""Records that cross module boundaries and land on disk.

`CentroidExplanation` keeps the seed's JSON format (`metadata` holds provenance, score and evidence
under the seed's keys), but in Python those facts are typed: `info` is an `ExplanationInfo`, and
`metadata` is serialised from it on demand.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from autointerp.constants import CONFIDENCE_MAPPING
from autointerp.formatting import JSON_PLACES


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Status(StrEnum):
    """What an explanation's confidence means."""

    SCORED = "scored"  # measured on held-out tokens
    INSUFFICIENT_DATA = "insufficient-data"  # too few held-out tokens to measure
    UNSCORED = "unscored"  # kept, but nothing could measure it (free text and no LLM scorer)
    FAILED = "failed"  # generation failed: never cached, never a score
    NO_DATA = "no-data"  # no validation data to explain from

    @property
    def measured(self) -> bool:
        return self is Status.SCORED

    @property
    def cacheable(self) -> bool:
        return self in (Status.SCORED, Status.INSUFFICIENT_DATA, Status.UNSCORED)

    @classmethod
    def parse(cls, value: Any) -> Status:
        try:
            return cls(value)
        except ValueError:
            return cls.UNSCORED  # a record from elsewhere with no known status was never measured here


@dataclass
class ScoreResult:
    """Balanced accuracy on held-out members vs nearest-centroid and random non-members."""

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
    status: Status = Status.SCORED
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is Status.SCORED and self.balanced_accuracy is not None

    @property
    def confidence(self) -> float:
        """Chance (0.5) maps to 0 and perfect separation to 1: confidence = clip(2·(BA − 0.5), 0, 1)."""
        if not self.ok or self.balanced_accuracy is None:
            return 0.0
        # rounded like the accuracy it comes from: 2 × (0.7203 − 0.5) is 0.4406000000000001 in binary
        return round(float(min(1.0, max(0.0, 2.0 * (self.balanced_accuracy - 0.5)))), JSON_PLACES)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status)
        d["confidence"] = self.confidence if self.ok else None  # not measured is not 0.00
        d["chance"] = 0.5
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreResult:
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["status"] = Status.parse(kwargs.get("status", "scored"))
        return cls(**{"method": "", "balanced_accuracy": None, **kwargs})


@dataclass(frozen=True)
class ScoringConfig:
    """How held-out scoring samples tokens; recorded in provenance, so changing it marks entries stale."""

    positives: int = 200
    negatives: int = 100  # of each kind: nearest-centroid members and random non-members
    detection_sample: int = 40  # members shown to an LLM detection scorer (half as many of each negative)
    seed: int = 0

    def label(self) -> str:
        return f"pos{self.positives}-neg{self.negatives}-det{self.detection_sample}-seed{self.seed}"


PROVENANCE_KEYS = ("model", "layer", "site", "centroid_hash", "corpus", "normalisation", "scoring")


@dataclass(frozen=True)
class Provenance:
    """What an explanation describes; any difference from the current one makes a cached entry stale."""

    model: str
    layer: int
    site: str
    centroid_hash: str
    corpus: str
    normalisation: str
    scoring: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Provenance | None:
        if not all(k in data for k in PROVENANCE_KEYS[:-1]):
            return None
        return cls(**{k: data.get(k, "") for k in PROVENANCE_KEYS})

    def differences(self, current: Provenance) -> list[str]:
        return [
            f"{k}: {getattr(self, k)!r} → {getattr(current, k)!r}"
            for k in PROVENANCE_KEYS
            if getattr(self, k) != getattr(current, k)
        ]


# metadata keys ExplanationInfo owns; anything else in a file is kept verbatim in `extra`
_OWN_KEYS = {
    *PROVENANCE_KEYS,
    "layer_idx",
    "activation_type",
    "generation_method",
    "explainer",
    "explainer_model",
    "prompt_version",
    "status",
    "score",
    "confidence_mapping",
    "evidence",
    "flags",
    "population",
    "neighbours",
    "stated_confidence",
    "human_edited",
    "accepted",
    "imported",
    "previous_explanation",
    "error",
    "error_reason",
}


@dataclass
class ExplanationInfo:
    """Where an explanation came from and how it was measured."""

    status: Status = Status.UNSCORED
    provenance: Provenance | None = None
    explainer: str | None = None
    explainer_model: str | None = None
    prompt_version: str | None = None
    score: ScoreResult | None = None
    rule: list[list[str]] | None = None  # the rule the explanation is, or was read as
    evidence: dict[str, Any] = field(default_factory=dict)  # explainer-specific details, shown not parsed
    flags: list[str] = field(default_factory=list)
    population: int | None = None
    neighbours: list[int] = field(default_factory=list)
    stated_confidence: float | None = None  # what an LLM claimed; never shown as the confidence
    human_edited: bool = False
    accepted: str | None = None
    imported: str | None = None  # when the text came from an imported file (then scored here, as an edit is)
    previous_explanation: str | None = None
    error: str | None = None  # why generation failed, or why an explanation that was kept is unscored
    error_reason: str | None = None  # the error's short kind, for reports grouped by reason
    extra: dict[str, Any] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        """The seed's metadata layout."""
        meta: dict[str, Any] = dict(self.extra)
        if self.provenance is not None:
            meta.update(self.provenance.to_dict())
            meta["layer_idx"], meta["activation_type"] = self.provenance.layer, self.provenance.site
        evidence = dict(self.evidence)
        if self.rule is not None or "rule" in evidence:
            evidence["rule"] = self.rule
        meta.update(
            {
                "status": str(self.status),
                "explainer": self.explainer,
                "generation_method": self.explainer,
                "explainer_model": self.explainer_model,
                "prompt_version": self.prompt_version,
                "score": self.score.to_dict() if self.score else None,
                "confidence_mapping": CONFIDENCE_MAPPING,
                "evidence": evidence,
                "flags": list(self.flags),
                "population": self.population,
                "neighbours": list(self.neighbours),
                "stated_confidence": self.stated_confidence,
                "human_edited": self.human_edited,
            }
        )
        for key in ("accepted", "imported", "previous_explanation", "error", "error_reason"):
            if getattr(self, key) is not None:
                meta[key] = getattr(self, key)
        return meta

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> ExplanationInfo:
        evidence = dict(meta.get("evidence") or {})
        rule = evidence.pop("rule", None)
        score = meta.get("score")
        stated = meta.get("stated_confidence")
        return cls(
            status=Status.parse(meta.get("status")),
            provenance=Provenance.from_dict(meta),
            explainer=meta.get("explainer") or meta.get("generation_method"),
            explainer_model=meta.get("explainer_model"),
            prompt_version=meta.get("prompt_version"),
            score=ScoreResult.from_dict(score) if isinstance(score, dict) else None,
            rule=[list(map(str, t)) for t in rule] if isinstance(rule, list) else None,
            evidence=evidence,
            flags=[str(f) for f in meta.get("flags") or evidence.get("flags") or []],
            population=meta.get("population"),
            neighbours=[int(n) for n in meta.get("neighbours") or []],
            stated_confidence=float(stated) if isinstance(stated, (int, float)) else None,
            human_edited=bool(meta.get("human_edited")),
            accepted=meta.get("accepted"),
            imported=meta.get("imported"),
            previous_explanation=meta.get("previous_explanation"),
            error=meta.get("error"),
            error_reason=meta.get("error_reason"),
            extra={k: v for k, v in meta.items() if k not in _OWN_KEYS},
        )


@dataclass(init=False)
class CentroidExplanation:
    """One centroid's explanation; `confidence` is a held-out measured score in [0, 1] when
    `info.status` is scored, and means nothing otherwise (shown as "not measured")."""

    centroid_id: int
    explanation: str
    confidence: float
    top_k_examples: list[str]
    timestamp: str
    info: ExplanationInfo

    def __init__(
        self,
        centroid_id: int,
        explanation: str,
        confidence: float,
        top_k_examples: list[str] | None = None,
        timestamp: str | None = None,
        metadata: dict[str, Any] | None = None,
        info: ExplanationInfo | None = None,
    ):
        self.centroid_id = int(centroid_id)
        self.explanation = explanation
        self.confidence = float(confidence)
        self.top_k_examples = list(top_k_examples or [])
        self.timestamp = timestamp or now_iso()
        self.info = info if info is not None else ExplanationInfo.from_metadata(metadata or {})

    @property
    def metadata(self) -> dict[str, Any]:
        """The serialised view of `info` (a copy: change `info`, not this)."""
        return self.info.to_metadata()

    @property
    def status(self) -> Status:
        return self.info.status

    @property
    def measured(self) -> bool:
        return self.info.status.measured

    def to_dict(self) -> dict[str, Any]:
        return {
            "centroid_id": self.centroid_id,
            "explanation": self.explanation,
            "confidence": self.confidence,
            "top_k_examples": list(self.top_k_examples),
            "timestamp": self.timestamp,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CentroidExplanation:
        missing = {"centroid_id", "explanation", "confidence"} - set(data)
        if missing:
            raise ValueError(f"explanation record lacks {sorted(missing)}")
        confidence = float(data["confidence"])
        if not 0.0 <= confidence <= 1.0 or math.isnan(confidence):
            raise ValueError(f"confidence {confidence} is outside [0, 1]")
        meta = data.get("metadata") or {}
        if not isinstance(meta, dict):
            raise ValueError("metadata must be an object")
        return cls(
            int(data["centroid_id"]),
            str(data["explanation"]),
            confidence,
            [str(x) for x in data.get("top_k_examples") or []],
            str(data.get("timestamp") or now_iso()),
            metadata=meta,
        )


@dataclass
class ValidationExample:
    """A validation token in its context window; `activation` is the centroid similarity (larger is stronger)."""

    text: str
    tokens: list[int]
    token_strings: list[str]
    activation: float
    token_position: int


@dataclass
class SentenceRow:
    """One token of an analysed sentence."""

    position: int
    token_id: int
    token_str: str
    centroid_id: int
    explanation: str
    confidence: float
    activation: float
    distance: float
    margin: float
    runner_up_id: int
    norm: float
    flags: list[str] = field(default_factory=list)
    status: Status | None = None  # None: the centroid was not explained
    explainer: str = ""

    @property
    def measured(self) -> bool:
        return self.status is not None and self.status.measured

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["status"] = str(self.status) if self.status is not None else ""
        return d
