"""Sampling a centroid's evidence from the validation index and its test set from the held-out index."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from autointerp.core.index import ValidationIndex, activation_from_distance
from autointerp.explain.explainers.contract import ClusterEvidence, TokenEvidence
from autointerp.explain.features import norm_token
from autointerp.explain.scorers.balanced_accuracy import ScoringSet
from autointerp.explain.texts import TokenTexts
from autointerp.records import ScoringConfig


class EvidenceSampler:
    """Evidence for explaining (validation split) and scoring sets (held-out split) of one centroid."""

    def __init__(
        self,
        index: ValidationIndex,
        texts: TokenTexts,
        neighbours: torch.Tensor,
        normalisation: str,
        scoring: ScoringConfig | None = None,
    ):
        self.index = index
        self.texts = texts
        self.neighbours = neighbours
        self.normalisation = normalisation
        self.scoring = scoring or ScoringConfig()
        self.seed = self.scoring.seed
        norms = np.asarray(index.records.norm)
        self.median_norm = float(np.median(norms)) if len(norms) else 0.0

    def token(self, row: int, context: bool = True) -> TokenEvidence:
        """One token's evidence; `context=False` leaves its marked window out (empty), for readers of
        features only: drawing it is about a third of sampling a centroid's evidence."""
        r = self.index.records
        w, p, d = int(r.window[row]), int(r.pos[row]), float(r.dist[row])
        return TokenEvidence(
            token=self.texts.token_str(int(r.token[row])),
            context=self.texts.highlighted(w, p) if context else "",
            features=self.texts.features(w, p),
            activation=float(activation_from_distance(np.float32(d), self.normalisation)),
            distance=d,
        )

    def _sample(self, rows: np.ndarray, n: int, rng: np.random.Generator, context: bool) -> list[TokenEvidence]:
        if len(rows) > n:
            rows = rng.choice(rows, size=n, replace=False)
        return [self.token(int(r), context) for r in rows]

    def _nonmembers(self, centroid_id: int, n: int, rng: np.random.Generator) -> np.ndarray:
        total = len(self.index)
        if total == 0:
            return np.empty(0, dtype=np.int64)
        rows = rng.integers(0, total, size=min(total, n * 2))
        rows = rows[np.asarray(self.index.records.cluster)[rows] != centroid_id]
        return rows[:n]

    def _hard(self, centroid_id: int) -> np.ndarray:
        parts = [self.index.members(int(j)) for j in self.neighbours[centroid_id].tolist()]
        return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)

    def flags(self, centroid_id: int) -> list[str]:
        rows = self.index.members(centroid_id)
        r = self.index.records
        flags = []
        if len(rows) < 5:
            flags.append("tiny")
        if len(rows) == 0:
            return flags
        toks = Counter(norm_token(self.texts.token_str(int(t))) for t in np.asarray(r.token)[rows])
        if toks.most_common(1)[0][1] / len(rows) >= 0.8:
            flags.append("single-token")
        if (np.asarray(r.pos)[rows] < 2).mean() >= 0.8:
            flags.append("position")
        if self.median_norm and float(np.median(np.asarray(r.norm)[rows])) > 3 * self.median_norm:
            flags.append("high-norm")
        return flags

    def evidence(
        self, centroid_id: int, per_band: int = 40, bands: int = 4, negatives: int = 120, context: bool = True
    ) -> ClusterEvidence:
        rng = np.random.default_rng(self.seed + centroid_id)
        band_rows = self.index.banded_members(centroid_id, per_band, bands, self.seed)
        r = self.index.records
        members = self.index.members(centroid_id)
        tok_counts = Counter(self.texts.token_str(int(t)) for t in np.asarray(r.token)[members])
        n = max(1, len(members))
        next_counts: Counter[str] = Counter()
        for row in members[:500]:
            ids = self.texts.window_ids(int(r.window[row]))
            p = int(r.pos[row])
            if p + 1 < len(ids):
                next_counts[self.texts.token_str(ids[p + 1])] += 1
        n_next = max(1, sum(next_counts.values()))
        return ClusterEvidence(
            centroid_id=centroid_id,
            bands=[[self.token(int(x), context) for x in b] for b in band_rows],
            contrast=self._sample(self._hard(centroid_id), negatives, rng, context),
            background=self._sample(self._nonmembers(centroid_id, negatives, rng), negatives, rng, context),
            neighbours=self.neighbours[centroid_id].tolist(),
            population=len(members),
            flags=self.flags(centroid_id),
            top_tokens=[(t, round(c / n, 3)) for t, c in tok_counts.most_common(10)],
            next_tokens=[(t, round(c / n_next, 3)) for t, c in next_counts.most_common(10)],
        )

    def scoring_set(self, centroid_id: int, context: bool = True) -> ScoringSet:
        """Held-out tokens to score on; an exact rule scorer needs no `context`, LLM detection does."""
        positives, negatives = self.scoring.positives, self.scoring.negatives
        rng = np.random.default_rng(10_000 + self.seed + centroid_id)
        return ScoringSet(
            positives=self._sample(self.index.members(centroid_id), positives, rng, context),
            hard_negatives=self._sample(self._hard(centroid_id), negatives, rng, context),
            random_negatives=self._sample(self._nonmembers(centroid_id, negatives, rng), negatives, rng, context),
        )
