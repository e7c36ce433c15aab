"""Records that cross module boundaries and land on disk.

`CentroidExplanation` keeps the seed's JSON format (`metadata` holds provenance, score and evidence
under the seed's keys), but in Python those facts are typed: `info` is an `ExplanationInfo`, and
`metadata` is serialised from it on demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import Field, asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

from autointerp.constants import CONFIDENCE_MAPPING
from autointerp.formatting import JSON_PLACES

T = TypeVar("T")


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


@dataclass(frozen=True)
class Key:
    """Where one record field sits in its JSON object, declared on the field (`field(metadata=key(...))`) and
    read by the one serializer below (`to_json`, `from_json`), so no list of keys is kept by hand.

    `name`: the key, the field's name by default; "evidence.rule" puts the value inside that object.
    `aliases`: keys written with the same value and read when the key is empty (the seed's older names).
    `fallbacks`: keys only read when the key and its aliases are empty. `read`: a JSON value to the field's.
    `flat`: the value is a record whose keys (`keys`, written by `write`) sit at this level.
    `rest`: the field holds every key no other field owns, kept verbatim. `omit_none`: not written when None.
    `after`: constant keys written right after this field. `order`: where the field is written (stable)."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    fallbacks: tuple[str, ...] = ()
    read: Callable[[Any], Any] | None = None
    write: Callable[[Any], dict[str, Any]] | None = None
    flat: bool = False
    keys: tuple[str, ...] = ()
    rest: bool = False
    omit_none: bool = False
    after: tuple[tuple[str, Any], ...] = ()
    order: int = 0


def key(**spec: Any) -> dict[str, Key]:
    return {"json": Key(**spec)}


def _spec(f: Field[Any]) -> Key:
    return f.metadata.get("json") or Key()


def _plain(value: Any) -> Any:
    """A field's value as JSON: enums as their text, records through their own `to_dict`, containers copied."""
    if isinstance(value, StrEnum):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, (list, dict)):
        return type(value)(value)
    return value


def _ordered(cls: type) -> list[Field[Any]]:
    return sorted(fields(cls), key=lambda f: _spec(f).order)


@cache
def own_keys(cls: type) -> frozenset[str]:
    """Every top-level key the fields of `cls` write or read; anything else in a file is kept in the rest."""
    out: set[str] = set()
    for f in fields(cls):
        k = _spec(f)
        names = k.keys if k.flat else (k.name or f.name, *k.aliases, *k.fallbacks)
        out.update(n.split(".")[0] for n in (*names, *(c for c, _ in k.after)) if not k.rest)
    return frozenset(out)


def to_json(record: Any) -> dict[str, Any]:
    """A record as its JSON object, in field order (after `order`); nested keys ("evidence.rule") last."""
    out: dict[str, Any] = {}
    nested = []
    for f in _ordered(type(record)):
        k, value = _spec(f), getattr(record, f.name)
        if k.rest or k.flat:
            out.update((k.write(value) if k.write else dict(value)) if value is not None else {})
        elif "." in (k.name or ""):
            nested.append((k, value))
        elif not (k.omit_none and value is None):
            for name in (k.name or f.name, *k.aliases):
                out[name] = _plain(value)
        out.update(k.after)
    for k, value in nested:
        if not (k.omit_none and value is None):
            outer, inner = k.name.split(".")
            out[outer][inner] = _plain(value)
    return out


def _lookup(data: dict[str, Any], name: str) -> Any:
    outer, _, inner = name.partition(".")
    value = data.get(outer)
    return (value.get(inner) if isinstance(value, dict) else None) if inner else value


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    """The record of `cls` from its JSON object; the inverse of `to_json` (older aliases read too)."""
    kwargs: dict[str, Any] = {}
    record_type: Any = cls  # a dataclass
    own = own_keys(record_type)
    for f in fields(record_type):
        k = _spec(f)
        if k.rest:
            kwargs[f.name] = {n: v for n, v in data.items() if n not in own}
            continue
        if k.flat:
            value: Any = data
        else:
            values = [_lookup(data, n) for n in (k.name or f.name, *k.aliases, *k.fallbacks)]
            value = next((v for v in values if v), values[-1])  # `a or b or c`, as the seed read them
        kwargs[f.name] = k.read(value) if k.read else value
    return cls(**kwargs)


def _provenance_keys(p: Provenance) -> dict[str, Any]:
    return {**p.to_dict(), "layer_idx": p.layer, "activation_type": p.site}  # the seed's names too


def _evidence(value: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(value or {}).items() if k != "rule"}  # the rule is its own field


def _rule(value: Any) -> list[list[str]] | None:
    return [list(map(str, t)) for t in value] if isinstance(value, list) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


@dataclass
class ExplanationInfo:
    """Where an explanation came from and how it was measured; its JSON is the seed's `metadata` layout."""

    status: Status = field(default=Status.UNSCORED, metadata=key(read=Status.parse))
    provenance: Provenance | None = field(
        default=None,
        metadata=key(
            flat=True,
            keys=(*PROVENANCE_KEYS, "layer_idx", "activation_type"),
            order=-1,
            read=Provenance.from_dict,
            write=_provenance_keys,
        ),
    )
    explainer: str | None = field(default=None, metadata=key(aliases=("generation_method",)))
    explainer_model: str | None = None
    prompt_version: str | None = None
    score: ScoreResult | None = field(
        default=None,
        metadata=key(
            read=lambda v: ScoreResult.from_dict(v) if isinstance(v, dict) else None,
            after=(("confidence_mapping", CONFIDENCE_MAPPING),),
        ),
    )
    # the rule the explanation is, or was read as
    rule: list[list[str]] | None = field(default=None, metadata=key(name="evidence.rule", read=_rule, omit_none=True))
    # explainer-specific details, shown not parsed
    evidence: dict[str, Any] = field(default_factory=dict, metadata=key(read=_evidence))
    flags: list[str] = field(
        default_factory=list, metadata=key(fallbacks=("evidence.flags",), read=lambda v: [str(f) for f in v or []])
    )
    population: int | None = None
    neighbours: list[int] = field(default_factory=list, metadata=key(read=lambda v: [int(n) for n in v or []]))
    # what an LLM claimed; never shown as the confidence
    stated_confidence: float | None = field(default=None, metadata=key(read=_number))
    human_edited: bool = field(default=False, metadata=key(read=bool))
    accepted: str | None = field(default=None, metadata=key(omit_none=True))
    # when the text came from an imported file (then scored here, as an edit is)
    imported: str | None = field(default=None, metadata=key(omit_none=True))
    previous_explanation: str | None = field(default=None, metadata=key(omit_none=True))
    # why generation failed, or why an explanation that was kept is unscored
    error: str | None = field(default=None, metadata=key(omit_none=True))
    # the error's short kind, for reports grouped by reason
    error_reason: str | None = field(default=None, metadata=key(omit_none=True))
    extra: dict[str, Any] = field(default_factory=dict, metadata=key(rest=True, order=-2))  # other tools' keys

    def to_metadata(self) -> dict[str, Any]:
        return to_json(self)

    @classmethod
    def from_metadata(cls, meta: dict[str, Any]) -> ExplanationInfo:
        return from_json(cls, meta)


@dataclass(init=False)
class CentroidExplanation:
    """One centroid's explanation; `confidence` is a held-out measured score in [0, 1] when
    `info.status` is scored, and means nothing otherwise (shown as "not measured").

    The confidence has one source: the record's score when it has one. The number given to the
    constructor (or read from a file) stands only for a record without a score (the seed's format,
    another tool's file)."""

    centroid_id: int
    explanation: str
    top_k_examples: list[str]
    timestamp: str
    info: ExplanationInfo
    unscored_confidence: float = field(repr=False)  # the given number, used only when `info.score` is None

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
        self.unscored_confidence = float(confidence)
        self.top_k_examples = list(top_k_examples or [])
        self.timestamp = timestamp or now_iso()
        self.info = info if info is not None else ExplanationInfo.from_metadata(metadata or {})

    @property
    def confidence(self) -> float:
        score = self.info.score
        return score.confidence if score is not None else self.unscored_confidence

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
