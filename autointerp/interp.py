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

from autointerp.analysis.meta_interpretation import interpret
from autointerp.analysis.sentence import SentenceAnalysis, SentenceAnalyzer, Site
from autointerp.config import SITES
from autointerp.constants import MAX_SENTENCE_TOKENS
from autointerp.core.centroids_io import FitInfo, read_centroid_file, validate_centroids
from autointerp.core.models import check_layer_and_site, load_model, max_positions, model_name, sink_token_id
from autointerp.core.space import CentroidSpace
from autointerp.errors import InputError
from autointerp.explain.explainers.contract import Explainer
from autointerp.explain.explainers.offline import OfflineExplainer
from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.explain.lifecycle import ExplainCounts, Explanations, Identity, ImportReport
from autointerp.explain.llm_choice import ExplainPlan, LLMChoice
from autointerp.explain.splits import split_views
from autointerp.fidelity.build_time import target_for
from autointerp.fidelity.measure import DocumentFidelity, sentence_fidelity
from autointerp.records import CentroidExplanation, ScoringConfig, ValidationExample
from autointerp.workspace import Workspace

__all__ = ["KMeansAutoInterp", "SentenceAnalysis"]


class KMeansAutoInterp:
    """Assigns tokens to k-means centroids and explains each centroid with a measured confidence.
    (`k` in the methods: validation examples to use, the design's name; centroids are `num_centroids`.)"""

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
        metadata: FitInfo | dict[str, Any] | None = None,
        center: torch.Tensor | None = None,
        workspace: Workspace | None = None,
        explainer: Explainer | None = None,
        max_tokens: int | None = None,
        scoring: ScoringConfig | None = None,
    ):
        info = metadata if isinstance(metadata, FitInfo) else FitInfo.from_dict(metadata or {})
        if isinstance(centroids, (str, os.PathLike)):
            file = read_centroid_file(centroids)
            centroids, info = file.centroids, file.info.overridden(info)
            center = file.center if center is None else center
        self.model = load_model(str(model)) if isinstance(model, (str, os.PathLike)) else model
        self.tokenizer = self.model.tokenizer
        if activation_type not in SITES:
            raise InputError(f"unknown activation_type {activation_type!r}; choose one of {', '.join(SITES)}")
        layer = layer_idx if layer_idx is not None else info.layer
        if layer is None:
            raise InputError("layer_idx is required when the centroids carry no 'layer' metadata")
        check_layer_and_site(self.model, int(layer), activation_type)
        self.layer_idx, self.activation_type = int(layer), activation_type
        self.info = info  # how the centroids were fitted, as far as known
        self.space = CentroidSpace(
            validate_centroids(centroids, int(self.model.hidden_size)), center, info.normalisation or "none"
        )
        self.workspace = workspace
        self.scoring = scoring or ScoringConfig()
        acts, tokens = validation_activations, validation_tokens
        self.validation, self.heldout = split_views(workspace, acts, tokens, self.tokenizer, self.space, self.scoring)
        corpus = workspace.config.corpus if workspace is not None else info.corpus or "user-activations"
        identity = Identity(info.model or model_name(self.model), self.layer_idx, activation_type, corpus)
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
        sink = info.sink_token_id if info.sink_decided else sink_token_id(self.tokenizer)
        site = Site(self.layer_idx, activation_type, sink)
        self.analyzer = SentenceAnalyzer(self.model, site, self.space, self.explanations, self.max_tokens)

    @classmethod
    def from_workspace(
        cls, path: str | os.PathLike[str], model: Any = None, cache_dir: str | None = None, **kwargs: Any
    ) -> KMeansAutoInterp:
        """Load a built workspace (and its model, unless one is given) in one call."""
        ws = Workspace.open(path)
        if model is None:
            model = load_model(ws.config.model, dtype=ws.config.dtype)
        return cls(
            cache_dir or ws.explanations_dir,
            model,
            ws.centroids,
            layer_idx=ws.config.layer,
            activation_type=ws.config.site,
            metadata=ws.info,
            center=ws.center,
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
        return await self.explanations.generate(centroid_id, examples, ExplainPlan.of(llm_client))

    async def get_or_generate_explanation(
        self, centroid_id: int, k: int = 10, llm_client: LLMChoice = None, force_regenerate: bool = False
    ) -> CentroidExplanation:
        return await self.explanations.get_or_generate(centroid_id, k, ExplainPlan.of(llm_client), force_regenerate)

    async def edit_explanation(self, centroid_id: int, text: str, llm_client: LLMChoice = None) -> CentroidExplanation:
        return await self.explanations.edit(centroid_id, text, ExplainPlan.of(llm_client))

    async def explain_all(self, ids: list[int], *, llm_client: LLMChoice = None, **kw: Any) -> ExplainCounts:
        return await self.explanations.explain_all(ids, plan=ExplainPlan.of(llm_client), **kw)  # force, on_done…

    async def import_explanations(
        self, records: list[CentroidExplanation], llm_client: LLMChoice = None
    ) -> ImportReport:
        return await self.explanations.import_records(records, ExplainPlan.of(llm_client))

    def accept_explanation(self, centroid_id: int) -> CentroidExplanation:
        return self.explanations.accept(centroid_id)

    def stale_reasons(self, explanation: CentroidExplanation, llm_client: LLMChoice = None) -> list[str]:
        return self.explanations.stale_reasons(explanation, ExplainPlan.of(llm_client))

    async def analyze(
        self, sentence: str, k: int = 10, llm_client: LLMChoice = None, explain: bool = True
    ) -> SentenceAnalysis:
        return await self.analyzer.analyze(sentence, k, ExplainPlan.of(llm_client), explain)

    async def analyze_sentence(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> list[dict[str, Any]]:
        """One dict per token: position, token, centroid, explanation, measured confidence, activation,
        distance, margin to the runner-up centroid and its id, status and explainer."""
        return [r.to_dict() for r in (await self.analyze(sentence, k, llm_client)).rows]

    async def interpret_with_meta_model(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> str:
        plan = ExplainPlan.of(llm_client)
        return await self.interpret_analysis(await self.analyze(sentence, k, plan), plan)

    async def interpret_analysis(self, analysis: SentenceAnalysis, llm_client: LLMChoice = None) -> str:
        """The meta-interpretation of an analysis already run (the dashboard and `--html` keep theirs)."""
        fidelity = self.workspace.fidelity if self.workspace is not None else None
        return await interpret(analysis, ExplainPlan.of(llm_client).text_client, fidelity)

    def sentence_fidelity(self, token_ids: list[int]) -> DocumentFidelity:
        """One text's per-token KL(clean || patched) and CE loss recovered under this layer's codebook."""
        if self.workspace is None:
            raise InputError("fidelity needs a workspace: its centre and normalisation define the patch")
        ws = self.workspace
        return sentence_fidelity(self.model, target_for(ws.config, self.space.centroids, ws.center, ws.info), token_ids)
