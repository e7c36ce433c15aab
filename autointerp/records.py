"""Records that cross module boundaries and land on disk."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class CentroidExplanation:
    """One centroid's explanation; `confidence` is a held-out measured score in [0, 1]."""

    centroid_id: int
    explanation: str
    confidence: float
    top_k_examples: list[str] = field(default_factory=list)
    timestamp: str = field(default_factory=now_iso)
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CentroidExplanation:
        names = {f.name for f in fields(cls)}
        missing = {"centroid_id", "explanation", "confidence"} - set(data)
        if missing:
            raise ValueError(f"explanation record lacks {sorted(missing)}")
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["centroid_id"] = int(kwargs["centroid_id"])
        kwargs["confidence"] = float(kwargs["confidence"])
        if not 0.0 <= kwargs["confidence"] <= 1.0:
            raise ValueError(f"confidence {kwargs['confidence']} is outside [0, 1]")
        kwargs["top_k_examples"] = [str(x) for x in kwargs.get("top_k_examples") or []]
        kwargs["metadata"] = dict(kwargs.get("metadata") or {})
        return cls(**kwargs)


@dataclass
class ValidationExample:
    """A validation token in its context window; `activation` is the centroid similarity (larger is stronger)."""

    text: str
    tokens: list[int]
    token_strings: list[str]
    activation: float
    token_position: int
