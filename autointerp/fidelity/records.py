"""The fidelity record: typed figures, saved beside the workspace's other files as one JSON object."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from autointerp.errors import WorkspaceError
from autointerp.files import atomic_write_text

FIDELITY_FILE = "fidelity.json"
RECORD_VERSION = 1


def recovered(ce_clean: float, ce_ablated: float, ce_patched: float) -> float:
    """CE loss recovered: 1 when patching costs nothing, 0 when it is as bad as the mean ablation."""
    gap = ce_ablated - ce_clean
    return (ce_ablated - ce_patched) / gap if abs(gap) > 1e-12 else float("nan")


@dataclass(frozen=True)
class Figures:
    """One reconstruction's effect: mean CE with it patched in, CE loss recovered, FVE, mean KL per token."""

    ce_patched: float
    ce_recovered: float
    fve: float
    kl_mean: float


@dataclass(frozen=True)
class CentroidLoss:
    """Mean KL(clean || patched) over a sample of one centroid's members when only they are patched."""

    centroid_id: int
    kl_mean: float
    tokens: int  # members measured


@dataclass
class FidelityRecord:
    """How much of the model one layer's codebook carries, measured on held-out text (or a text file)."""

    layer: int
    site: str
    k: int
    normalisation: str
    source: str  # "heldout" or "text-file NAME"
    documents: int
    tokens: int  # patched tokens (FVE, KL); CE counts those with a next token
    ce_clean: float
    ce_ablated: float
    codebook: Figures
    random: Figures  # k random unit directions (seeded), reconstructed the same way
    centroids: list[CentroidLoss] = field(default_factory=list)
    seconds: float = 0.0
    policy: str = ""  # which tokens were measured and how the per-centroid sample was drawn

    @property
    def ce_patched(self) -> float:
        return self.codebook.ce_patched

    @property
    def ce_recovered(self) -> float:
        return self.codebook.ce_recovered

    @property
    def fve(self) -> float:
        return self.codebook.fve

    def summary(self) -> dict[str, Any]:
        """The CLI's JSON object: the headline figures, the random baseline and the cost."""
        return {
            "layer": self.layer,
            "k": self.k,
            "source": self.source,
            "documents": self.documents,
            "tokens": self.tokens,
            "ce_clean": self.ce_clean,
            "ce_ablated": self.ce_ablated,
            "ce_patched": self.ce_patched,
            "ce_recovered": self.ce_recovered,
            "fve": self.fve,
            "kl_mean": self.codebook.kl_mean,
            "baselines": {"random": asdict(self.random)},
            "seconds": self.seconds,
        }

    def worst_centroids(self, n: int = 5) -> list[CentroidLoss]:
        """The centroids whose members the model misses most, largest KL first."""
        return sorted(self.centroids, key=lambda c: -c.kl_mean)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {"version": RECORD_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FidelityRecord:
        d = {k: v for k, v in data.items() if k != "version"}
        d["codebook"] = Figures(**d["codebook"])
        d["random"] = Figures(**d["random"])
        d["centroids"] = [CentroidLoss(**c) for c in d.get("centroids", [])]
        return cls(**d)


def _finite(x: Any) -> Any:
    """JSON has no NaN: a figure that could not be measured is stored as null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _nan(x: Any) -> Any:
    if x is None:
        return float("nan")
    if isinstance(x, dict):
        return {k: (_nan(v) if k not in ("source", "site", "normalisation", "policy") else v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan(v) for v in x]
    return x


def to_json(record: FidelityRecord) -> str:
    return json.dumps(_finite(record.to_dict()), indent=1)


def save_record(folder: Path, record: FidelityRecord) -> Path:
    """Atomically, as `fidelity.json` in the workspace folder."""
    path = Path(folder) / FIDELITY_FILE
    atomic_write_text(path, to_json(record))
    return path


def load_record(folder: Path) -> FidelityRecord | None:
    """The workspace's stored record, or None when it was built before fidelity was measured."""
    path = Path(folder) / FIDELITY_FILE
    if not path.exists():
        return None
    try:
        return FidelityRecord.from_dict(_nan(json.loads(path.read_text())))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkspaceError(f"{path} is damaged ({exc}); rebuild the workspace with --force") from exc
