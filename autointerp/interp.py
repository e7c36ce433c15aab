"""KMeansAutoInterp: the documented entry point, a thin composition of the pipeline's parts.

"Activation" everywhere (top-k examples, sentence rows) is the similarity of a token to its centroid:
cosine similarity when the centroids were fitted with cosine normalisation, else the negated Euclidean
distance. Larger is always stronger.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from autointerp.analysis.meta import interpret
from autointerp.analysis.sentence import SentenceAnalysis, SentenceAnalyzer, Site
from autointerp.build.centroids_io import load_kmeans_centroids, validate_centroids
from autointerp.build.models import check_layer_and_site, load_model, max_positions, model_name, sink_token_id
from autointerp.build.space import CentroidSpace, split_activations
from autointerp.config import SITES
from autointerp.constants import MAX_SENTENCE_TOKENS
from autointerp.errors import InputError
from autointerp.explain.cache import CentroidExplanationCache
from autointerp.explain.clients.base import LLMClient
from autointerp.explain.explainers.base import Explainer
from autointerp.explain.explainers.offline import OfflineExplainer
from autointerp.explain.lifecycle import Explanations, Identity, LLMChoice, plan_for
from autointerp.explain.splits import SplitView
from autointerp.records import CentroidExplanation, ScoringConfig, ValidationExample
from autointerp.workspace import Workspace

__all__ = ["KMeansAutoInterp", "SentenceAnalysis"]


class KMeansAutoInterp:
    """Assigns tokens to k-means centroids and explains each centroid with a measured confidence."""

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        model: Any,
        centroids: torch.Tensor | np.ndarray | str | os.PathLike[str],
        validation_activations: torch.Tensor | None = None,
        validation_tokens: torch.Tensor | None = None,
        layer_idx: int | None = None,
        activation_type: str = "layer_output",
        *,
        metadata: dict[str, Any] | None = None,
        workspace: Workspace | None = None,
        explainer: Explainer | None = None,
        max_tokens: int | None = None,
        scoring: ScoringConfig | None = None,
    ):
        metadata = dict(metadata or {})
        if isinstance(centroids, (str, os.PathLike)):
            centroids, file_meta = load_kmeans_centroids(centroids)
            metadata = {**file_meta, **metadata}
        self.model = load_model(str(model)) if isinstance(model, (str, os.PathLike)) else model
        self.tokenizer = self.model.tokenizer
        if activation_type not in SITES:
            raise InputError(f"unknown activation_type {activation_type!r}; choose one of {', '.join(SITES)}")
        layer = layer_idx if layer_idx is not None else metadata.get("layer")
        if layer is None:
            raise InputError("layer_idx is required when the centroids carry no 'layer' metadata")
        check_layer_and_site(self.model, int(layer), activation_type)
        self.layer_idx, self.activation_type = int(layer), activation_type
        center = metadata.pop("center", None)
        self.metadata = metadata
        self.space = CentroidSpace(
            validate_centroids(centroids, int(self.model.hidden_size)),
            center if isinstance(center, torch.Tensor) else None,
            str(metadata.get("normalisation", "none")),
        )
        self.workspace = workspace
        self.scoring = scoring or ScoringConfig()
        self.validation, self.heldout = self._splits(workspace, validation_activations, validation_tokens)
        corpus = workspace.config.corpus if workspace is not None else metadata.get("corpus", "user-activations")
        identity = Identity(metadata.get("model") or model_name(self.model), self.layer_idx, activation_type, corpus)
        self.explanations = Explanations(
            CentroidExplanationCache(cache_dir),
            self.space,
            identity,
            self.validation,
            self.heldout,
            explainer or OfflineExplainer(),
            self.scoring,
        )
        self.max_tokens = max_tokens or min(MAX_SENTENCE_TOKENS, max_positions(self.model, self.tokenizer) - 1)
        sink = metadata["sink_token_id"] if "sink_token_id" in metadata else sink_token_id(self.tokenizer)
        site = Site(self.layer_idx, activation_type, sink)
        self.analyzer = SentenceAnalyzer(self.model, site, self.space, self.explanations, self.max_tokens)

    def _splits(
        self, ws: Workspace | None, acts: torch.Tensor | None, tokens: torch.Tensor | None
    ) -> tuple[SplitView | None, SplitView | None]:
        """Validation and held-out data: a workspace's indexes, or user activations split 70/30."""
        if ws is not None:
            parts = [(s.index, s.windows, s.tags, s.concepts) for s in (ws.splits["val"], ws.splits["heldout"])]
        elif acts is not None:
            parts = [(i, w, None, None) for i, w in split_activations(acts, tokens, self.space)]
        else:
            return None, None
        val, held = (SplitView.create(i, w, t, self.tokenizer, self.space, self.scoring, c) for i, w, t, c in parts)
        return val, held

    @classmethod
    def from_workspace(
        cls, path: str | os.PathLike[str], model: Any = None, cache_dir: str | None = None, **kwargs: Any
    ) -> KMeansAutoInterp:
        """Load a built workspace (and its model, unless one is given) in one call."""
        ws = Workspace.open(path)
        if model is None:
            model = load_model(ws.config.model, dtype=ws.config.dtype)
        meta = {**ws.metadata, "center": ws.center}
        return cls(
            cache_dir or ws.explanations_dir,
            model,
            ws.centroids,
            layer_idx=ws.config.layer,
            activation_type=ws.config.site,
            metadata=meta,
            workspace=ws,
            **kwargs,
        )

    @property
    def num_centroids(self) -> int:
        return self.space.k

    @property
    def centroids(self) -> torch.Tensor:
        return self.space.centroids

    @property
    def hidden_dim(self) -> int:
        return self.space.hidden_dim

    @property
    def center(self) -> torch.Tensor | None:
        return self.space.center

    @property
    def normalisation(self) -> str:
        return self.space.normalisation

    @property
    def cache(self) -> CentroidExplanationCache:
        return self.explanations.cache

    def assign_tokens_to_centroids(self, activations: torch.Tensor) -> torch.Tensor:
        """Nearest centroid for every vector; the output has the input's shape without the last axis."""
        return self.space.nearest(activations).first.reshape(activations.shape[:-1])

    def get_top_k_validation_examples(self, centroid_id: int, k: int = 10) -> list[ValidationExample]:
        """The k nearest validation *members* of the centroid, strongest first (an index slice, no scan)."""
        return self.explanations.examples(centroid_id, k)

    async def generate_explanation(
        self, centroid_id: int, examples: list[ValidationExample] | None = None, llm_client: LLMChoice = None
    ) -> CentroidExplanation:
        return await self.explanations.generate(centroid_id, examples, llm_client)

    async def get_or_generate_explanation(
        self, centroid_id: int, k: int = 10, llm_client: LLMChoice = None, force_regenerate: bool = False
    ) -> CentroidExplanation:
        return await self.explanations.get_or_generate(centroid_id, k, llm_client, force_regenerate)

    async def edit_explanation(self, centroid_id: int, text: str, llm_client: LLMChoice = None) -> CentroidExplanation:
        return await self.explanations.edit(centroid_id, text, llm_client)

    def accept_explanation(self, centroid_id: int) -> CentroidExplanation:
        return self.explanations.accept(centroid_id)

    def stale_reasons(self, explanation: CentroidExplanation, llm_client: LLMChoice = None) -> list[str]:
        return self.explanations.stale_reasons(explanation, llm_client)

    async def analyze(
        self, sentence: str, k: int = 10, llm_client: LLMChoice = None, explain: bool = True
    ) -> SentenceAnalysis:
        return await self.analyzer.analyze(sentence, k, llm_client, explain)

    async def analyze_sentence(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> list[dict[str, Any]]:
        """One dict per token: position, token, centroid, explanation, measured confidence, activation,
        distance, margin to the runner-up centroid and its id, status and explainer."""
        return [r.to_dict() for r in (await self.analyze(sentence, k, llm_client)).rows]

    async def interpret_with_meta_model(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> str:
        analysis = await self.analyze(sentence, k, llm_client)
        fidelity = self.workspace.fidelity if self.workspace is not None else None
        return await interpret(analysis, self.text_client(llm_client), fidelity)

    def text_client(self, llm_client: LLMChoice = None) -> LLMClient | None:
        """What writes meta-interpretations for this choice of client (None: the grounded offline text)."""
        return plan_for(llm_client, self.explanations.explainer).text_client
