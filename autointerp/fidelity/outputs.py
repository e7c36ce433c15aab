"""Every centroid's output side at build time, and where it lands: `output_side/centroid_<id>.json` in the
workspace, one file per centroid beside the centroids (explanations live apart, in `explanations/`)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from autointerp.core.models import model_lock
from autointerp.data.linguistic import load_tagger
from autointerp.fidelity.build_time import BuiltLayer
from autointerp.fidelity.describe import class_table, describe
from autointerp.fidelity.output_side import (
    TOKEN_CHANGE_CONTEXTS,
    TOKEN_CHANGE_LENGTH,
    TOKEN_CHANGE_STRENGTH,
    TOP_TOKENS,
    CentroidGeometry,
    ModelParts,
    OutputSide,
    TokenScore,
    logit_lens,
    output_side_path,
    sample_contexts,
    scores,
    token_change,
)
from autointerp.files import atomic_write_text
from autointerp.progress import Progress, silent


@dataclass(frozen=True)
class OutputSideSettings:
    """How TokenChange samples and pushes; recorded in every record's `method`."""

    contexts: int = TOKEN_CHANGE_CONTEXTS
    length: int = TOKEN_CHANGE_LENGTH
    strength: float = TOKEN_CHANGE_STRENGTH
    top: int = TOP_TOKENS
    seed: int = 0

    def method(self, scale: float, n_contexts: int) -> str:
        return (
            f"TokenChange: unit direction x alpha = {self.strength:g} x the median centred norm ({scale:.1f}) added "
            f"at the last position of {n_contexts} validation contexts of {self.length} tokens (seed {self.seed}), "
            "mean next-token probability change; promoted: centre + direction x that norm through the final "
            "norm and unembedding"
        )


def compute_output_sides(
    model: Any,
    geometry: CentroidGeometry,
    layer: int,
    site: str,
    contexts: torch.Tensor,
    settings: OutputSideSettings = OutputSideSettings(),
    progress: Progress = silent,
    tagger: Any = None,
) -> list[OutputSide]:
    """One record per centroid. The logit lens only at layer outputs: MLP and attention outputs are deltas,
    not residual states, so the lens would mislead there (TokenChange is meaningful at every site)."""
    parts = ModelParts.of(model, layer, site)
    k = geometry.centroids.shape[0]
    alpha = settings.strength * geometry.scale
    with model_lock(model):
        lens = (
            logit_lens(parts.norm, parts.head, geometry.model_space(), settings.top) if site == "layer_output" else None
        )
        change = None
        if len(contexts):
            report = lambda done, total: progress("output side (TokenChange)", done, total)  # noqa: E731
            change = token_change(parts, contexts, geometry.directions() * alpha, settings.top, report)
    promoted = [scores(parts.tokenizer, *(t[c] for t in lens)) if lens else [] for c in range(k)]
    rising = [_rising(scores(parts.tokenizer, *(t[c] for t in change))) if change else [] for c in range(k)]
    classes = class_table(rising + promoted, tagger)
    method = settings.method(geometry.scale, len(contexts))
    return [
        OutputSide(c, promoted[c], rising[c], describe(rising[c] or [], classes), alpha, len(contexts), method)
        for c in range(k)
    ]


NO_CHANGE = 1e-6  # below float noise between batch shapes (~1e-10): a zero direction lists nothing


def _rising(tokens: list[TokenScore]) -> list[TokenScore]:
    """Only tokens whose probability rose: a zero direction changes nothing and lists nothing."""
    return [t for t in tokens if t.value > NO_CHANGE]


def output_sides_for(result: BuiltLayer, progress: Progress = silent) -> tuple[list[OutputSide], float]:
    """The output side of every centroid of a build (its model, centroids and validation split), and the
    seconds it took, spaCy's loading included."""
    t0 = time.perf_counter()
    info, cfg = result.info, result.config
    geometry = CentroidGeometry.of(result.centroids, result.center, cfg.normalisation, info.median_centered_norm)
    settings = OutputSideSettings(seed=cfg.seed)
    windows = result.splits["val"].windows
    contexts = sample_contexts(windows, info.sink_token_id, settings.contexts, settings.length, settings.seed)
    loaded = load_tagger() if cfg.pos_tags else None
    tagger = loaded[0] if loaded else None
    sides = compute_output_sides(result.model, geometry, cfg.layer, cfg.site, contexts, settings, progress, tagger)
    return sides, round(time.perf_counter() - t0, 2)


def save_output_sides(folder: Path, sides: list[OutputSide]) -> None:
    for side in sides:
        atomic_write_text(output_side_path(folder, side.centroid_id), json.dumps(side.to_dict(), ensure_ascii=False))


def load_output_side(folder: Path, centroid_id: int) -> OutputSide | None:
    """The stored record, or None when the workspace has none (built before output sides) or it is unreadable."""
    try:
        side = OutputSide.from_dict(json.loads(output_side_path(folder, centroid_id).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return side if side.centroid_id == int(centroid_id) else None
