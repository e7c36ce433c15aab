"""A split of the workspace made readable: its index, token texts and evidence sampler together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from autointerp.core.index import ValidationIndex
from autointerp.core.space import CentroidSpace, split_activations
from autointerp.data.concepts import SplitConcepts
from autointerp.explain.evidence import EvidenceSampler
from autointerp.explain.texts import TokenTexts
from autointerp.records import ScoringConfig, ValidationExample

if TYPE_CHECKING:
    from autointerp.workspace import Workspace


@dataclass
class SplitView:
    index: ValidationIndex
    texts: TokenTexts
    sampler: EvidenceSampler
    space: CentroidSpace

    @classmethod
    def create(
        cls,
        index: ValidationIndex,
        windows: np.ndarray,
        tags: np.ndarray | None,
        tokenizer: Any,
        space: CentroidSpace,
        scoring: ScoringConfig,
        concepts: SplitConcepts | None = None,
    ) -> SplitView:
        texts = TokenTexts(windows, tokenizer, tags, concepts)
        sampler = EvidenceSampler(index, texts, space.neighbour_ids, space.normalisation, scoring)
        return cls(index, texts, sampler, space)

    def activation(self, row: int) -> float:
        return float(self.space.activation(np.float32(self.index.records.dist[row])))

    def examples(self, centroid_id: int, n_examples: int) -> list[ValidationExample]:
        """The `n_examples` nearest members of the centroid, strongest first (an index slice, no scan)."""
        r, rows = self.index.records, self.index.members(centroid_id, n_examples)
        acts = self.space.activation(np.asarray(r.dist[rows], dtype=np.float32)).tolist()  # one gather per column
        windows, positions = np.asarray(r.window[rows]).tolist(), np.asarray(r.pos[rows]).tolist()
        return [self.texts.example(w, p, a) for w, p, a in zip(windows, positions, acts, strict=True)]


def split_views(
    ws: Workspace | None,
    acts: torch.Tensor | None,
    tokens: torch.Tensor | None,
    tokenizer: Any,
    space: CentroidSpace,
    scoring: ScoringConfig,
) -> tuple[SplitView | None, SplitView | None]:
    """Validation and held-out data: a workspace's indexes, or user activations split 70/30."""
    if ws is not None:
        parts = [(s.index, s.windows, s.tags, s.concepts) for s in (ws.splits["val"], ws.splits["heldout"])]
    elif acts is not None:
        parts = [(i, w, None, None) for i, w in split_activations(acts, tokens, space)]
    else:
        return None, None
    val, held = (SplitView.create(i, w, t, tokenizer, space, scoring, c) for i, w, t, c in parts)
    return val, held
