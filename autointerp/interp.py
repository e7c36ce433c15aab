"""KMeansAutoInterp: the documented entry point tying model, centroids, index and explanations together."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .activations import iter_activations
from .cache import CentroidExplanationCache
from .centroids_io import load_kmeans_centroids, validate_centroids
from .config import SITES
from .errors import InputError, LLMError
from .evidence import EvidenceSampler, centroid_neighbours
from .explainers.base import Explainer, ExplanationDraft
from .explainers.offline import OfflineExplainer
from .index import TokenRecords, ValidationIndex, activation_from_distance
from .kmeans import nearest_two, normalise
from .models import check_layer_and_site, load_model, max_positions, model_name, sink_token_id
from .provenance import centroid_hash, stale_reasons
from .records import CentroidExplanation, ValidationExample
from .scorers.base import ScoreResult
from .scorers.exact import RuleScorer
from .texts import TokenTexts, pad_windows

log = logging.getLogger(__name__)
LOW_CONFIDENCE = 0.4
MAX_SENTENCE_TOKENS = 2048


@dataclass
class SentenceAnalysis:
    rows: list[dict[str, Any]]
    n_input_tokens: int
    truncated: bool = False
    notice: str = ""
    explanations: dict[int, CentroidExplanation] = field(default_factory=dict)


class KMeansAutoInterp:
    """Assigns tokens to k-means centroids and explains each centroid with a measured confidence.

    "Activation" everywhere (top-k examples, sentence rows) is the similarity of a token to its
    centroid: cosine similarity when the centroids were fitted with cosine normalisation, else the
    negated Euclidean distance. Larger is always stronger.
    """

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
        workspace: Any = None,
        explainer: Explainer | None = None,
        max_tokens: int | None = None,
    ):
        metadata = dict(metadata or {})
        if isinstance(centroids, (str, os.PathLike)):
            centroids, file_meta = load_kmeans_centroids(centroids)
            metadata = {**file_meta, **metadata}
        self.model = load_model(model) if isinstance(model, (str, os.PathLike)) else model
        self.tokenizer = self.model.tokenizer
        self.hidden_dim = int(self.model.hidden_size)
        self.centroids = validate_centroids(centroids, self.hidden_dim)
        if activation_type not in SITES:
            raise InputError(f"unknown activation_type {activation_type!r}; choose one of {', '.join(SITES)}")
        if layer_idx is None:
            layer_idx = metadata.get("layer")
        if layer_idx is None:
            raise InputError("layer_idx is required when the centroids carry no 'layer' metadata")
        check_layer_and_site(self.model, int(layer_idx), activation_type)
        self.layer_idx = int(layer_idx)
        self.activation_type = activation_type
        center = metadata.pop("center", None)
        self.center = center.float() if isinstance(center, torch.Tensor) else None
        self.normalisation = str(metadata.get("normalisation", "none"))
        self.metadata = metadata
        self.sink_id = sink_token_id(self.tokenizer) if "sink_token_id" not in metadata else metadata["sink_token_id"]
        self.cache = CentroidExplanationCache(cache_dir)
        self.explainer: Explainer = explainer or OfflineExplainer()
        self.workspace = workspace
        self.max_tokens = max_tokens or min(MAX_SENTENCE_TOKENS, max_positions(self.model, self.tokenizer) - 1)
        self.neighbour_ids, self.neighbour_distances = centroid_neighbours(self.centroids)
        self._hashes = [centroid_hash(c) for c in self.centroids]
        self.val_index: ValidationIndex | None = None
        self.heldout_index: ValidationIndex | None = None
        self.val_texts: TokenTexts | None = None
        self.heldout_texts: TokenTexts | None = None
        self._val_sampler: EvidenceSampler | None = None
        self._held_sampler: EvidenceSampler | None = None
        if workspace is not None:
            self._attach(
                workspace.val_index,
                workspace.val_windows,
                workspace.heldout_index,
                workspace.heldout_windows,
                workspace.val_tags,
                workspace.heldout_tags,
            )
        elif validation_activations is not None:
            self._index_from_activations(validation_activations, validation_tokens)

    # ------------------------------------------------------------------ construction helpers
    @classmethod
    def from_workspace(
        cls, path: str | os.PathLike[str], model: Any = None, cache_dir: str | None = None, **kwargs: Any
    ) -> KMeansAutoInterp:
        """Load a built workspace (and its model, unless one is given) in one call."""
        from .workspace import Workspace

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

    def _attach(
        self,
        val: ValidationIndex,
        val_windows: np.ndarray,
        held: ValidationIndex,
        held_windows: np.ndarray,
        val_tags: np.ndarray | None = None,
        held_tags: np.ndarray | None = None,
    ) -> None:
        self.val_index, self.heldout_index = val, held
        self.val_texts = TokenTexts(val_windows, self.tokenizer, val_tags)
        self.heldout_texts = TokenTexts(held_windows, self.tokenizer, held_tags)
        self._val_sampler = EvidenceSampler(val, self.val_texts, self.neighbour_ids, self.normalisation)
        self._held_sampler = EvidenceSampler(held, self.heldout_texts, self.neighbour_ids, self.normalisation)

    def _index_from_activations(self, acts: torch.Tensor, tokens: torch.Tensor | None) -> None:
        if not isinstance(acts, torch.Tensor) or acts.ndim != 3 or acts.shape[-1] != self.hidden_dim:
            shape = tuple(acts.shape) if isinstance(acts, torch.Tensor) else type(acts).__name__
            raise InputError(f"validation_activations must be (num_samples, seq_len, {self.hidden_dim}), got {shape}")
        if tokens is None or tuple(tokens.shape) != tuple(acts.shape[:2]):
            got = None if tokens is None else tuple(tokens.shape)
            raise InputError(f"validation_tokens must be (num_samples, seq_len) = {tuple(acts.shape[:2])}, got {got}")
        if not torch.isfinite(acts).all():
            raise InputError("validation_activations contain NaN or Inf")
        n = acts.shape[0]
        # Deterministic 70/30 split of samples: explanations come from the first part, scores from the second.
        cut = max(1, int(round(n * 0.7))) if n > 1 else n
        parts = []
        for rows in (range(0, cut), range(cut, n)):
            rows = list(rows)
            a = acts[rows].reshape(-1, self.hidden_dim).float()
            near = nearest_two(normalise(a, self.center, self.normalisation), self.centroids)
            seq = acts.shape[1]
            win = torch.arange(len(rows)).repeat_interleave(seq)
            pos = torch.arange(seq).repeat(len(rows))
            rec = TokenRecords.from_batch(near, win, pos, tokens[rows].reshape(-1), a.norm(dim=1))
            parts.append((ValidationIndex(rec, self.num_centroids), pad_windows(tokens[rows].tolist())))
        self._attach(parts[0][0], parts[0][1], parts[1][0], parts[1][1])

    # ------------------------------------------------------------------ properties
    @property
    def num_centroids(self) -> int:
        return int(self.centroids.shape[0])

    def _check_id(self, centroid_id: int) -> int:
        if not isinstance(centroid_id, (int, np.integer)) or not 0 <= int(centroid_id) < self.num_centroids:
            raise InputError(f"centroid id {centroid_id!r} is out of range 0..{self.num_centroids - 1}")
        return int(centroid_id)

    def provenance(self, centroid_id: int) -> dict[str, Any]:
        ws = self.workspace
        return {
            "model": self.metadata.get("model") or model_name(self.model),
            "layer": self.layer_idx,
            "site": self.activation_type,
            "centroid_hash": self._hashes[centroid_id],
            "corpus": ws.config.corpus if ws is not None else self.metadata.get("corpus", "user-activations"),
            "normalisation": self.normalisation,
        }

    # ------------------------------------------------------------------ assignment
    def _normalised(self, activations: torch.Tensor) -> torch.Tensor:
        if not isinstance(activations, torch.Tensor):
            raise InputError(f"activations must be a tensor, got {type(activations).__name__}")
        if activations.ndim < 1 or activations.shape[-1] != self.hidden_dim:
            raise InputError(
                f"activations must end in the hidden size {self.hidden_dim}, got {tuple(activations.shape)}"
            )
        if not torch.isfinite(activations).all():
            raise InputError("activations contain NaN or Inf")
        return normalise(activations.reshape(-1, self.hidden_dim), self.center, self.normalisation)

    def assign_tokens_to_centroids(self, activations: torch.Tensor) -> torch.LongTensor:
        """Nearest centroid for every vector; the output has the input's shape without the last axis."""
        near = nearest_two(self._normalised(activations), self.centroids)
        return near.first.reshape(activations.shape[:-1])

    def activation(self, distance: torch.Tensor | np.ndarray | float):
        return activation_from_distance(distance, self.normalisation)

    # ------------------------------------------------------------------ examples
    def get_top_k_validation_examples(self, centroid_id: int, k: int = 10) -> list[ValidationExample]:
        """The k nearest validation *members* of the centroid, strongest first (an index slice, no scan)."""
        cid = self._check_id(centroid_id)
        if k < 0:
            raise InputError(f"k must be >= 0, got {k}")
        if self.val_index is None or self.val_texts is None:
            return []
        r = self.val_index.records
        return [
            self.val_texts.example(int(r.window[row]), int(r.pos[row]), float(self.activation(np.float32(r.dist[row]))))
            for row in self.val_index.members(cid, k)
        ]

    def sampler(self) -> EvidenceSampler | None:
        """Explanation evidence comes from validation tokens; None without validation data."""
        return self._val_sampler

    def heldout_sampler(self) -> EvidenceSampler | None:
        """Scores come from held-out tokens the explainer never saw."""
        return self._held_sampler

    # ------------------------------------------------------------------ explanations
    def _explainer_for(self, llm_client: Any) -> Explainer:
        if llm_client is None:
            return self.explainer
        from .explainers.llm import LLMExplainer

        return llm_client if isinstance(llm_client, Explainer) else LLMExplainer(llm_client)

    async def _score(self, draft: ExplanationDraft, centroid_id: int, llm_client: Any) -> ScoreResult:
        held = self.heldout_sampler()
        if held is None:
            return ScoreResult("none", None, status="insufficient-data", detail="no held-out data")
        data = held.scoring_set(centroid_id)
        if draft.rule is not None:
            return await RuleScorer().score(draft, data)
        from .scorers.detection import DetectionScorer

        return await DetectionScorer.for_client(llm_client).score(draft, data)

    async def generate_explanation(
        self, centroid_id: int, examples: list[ValidationExample] | None = None, llm_client: Any = None
    ) -> CentroidExplanation:
        """Explain from validation evidence, then measure the explanation on held-out tokens.

        Raises LLMError when an LLM fails: a failure is never returned as a low score.
        """
        cid = self._check_id(centroid_id)
        examples = examples if examples is not None else self.get_top_k_validation_examples(cid)
        sampler = self.sampler()
        explainer = self._explainer_for(llm_client)
        prov = self.provenance(cid)
        if sampler is None:
            return CentroidExplanation(
                cid,
                "Unexplained: no validation data was given",
                0.0,
                [e.text for e in examples],
                metadata={
                    **prov,
                    "status": "no-data",
                    "layer_idx": self.layer_idx,
                    "activation_type": self.activation_type,
                },
            )
        evidence = sampler.evidence(cid)
        draft = await explainer.explain(evidence)
        score = await self._score(draft, cid, llm_client)
        status = "scored" if score.ok else score.status
        meta = {
            **prov,
            "layer_idx": self.layer_idx,
            "activation_type": self.activation_type,
            "generation_method": draft.explainer,
            "explainer": draft.explainer,
            "explainer_model": draft.model,
            "prompt_version": draft.prompt_version,
            "status": status,
            "score": score.to_dict(),
            "confidence_mapping": "clip(2 * (balanced_accuracy - 0.5), 0, 1) on held-out tokens",
            "evidence": draft.evidence,
            "flags": draft.evidence.get("flags", evidence.flags),
            "population": evidence.population,
            "neighbours": evidence.neighbours,
            "stated_confidence": draft.stated_confidence,
            "human_edited": False,
        }
        return CentroidExplanation(cid, draft.explanation, score.confidence, [e.text for e in examples], metadata=meta)

    def stale_reasons(self, explanation: CentroidExplanation, llm_client: Any = None) -> list[str]:
        explainer = self._explainer_for(llm_client)
        prompt = (explainer.name, getattr(explainer, "prompt_version", None) or "")
        if explanation.metadata.get("human_edited"):
            prompt = None
        return stale_reasons(explanation.metadata, self.provenance(explanation.centroid_id), prompt)

    async def get_or_generate_explanation(
        self, centroid_id: int, k: int = 10, llm_client: Any = None, force_regenerate: bool = False
    ) -> CentroidExplanation:
        """Cached unless forced or stale. A failed generation is returned marked as failed and never cached."""
        cid = self._check_id(centroid_id)
        if not force_regenerate:
            cached = self.cache.get(cid)
            if cached is not None:
                reasons = self.stale_reasons(cached, llm_client)
                if not reasons:
                    return cached
                log.info("centroid %d: cached explanation is stale (%s); regenerating", cid, "; ".join(reasons))
        try:
            expl = await self.generate_explanation(cid, self.get_top_k_validation_examples(cid, k), llm_client)
        except LLMError as exc:
            return CentroidExplanation(
                cid,
                f"Unexplained: the LLM failed ({exc})",
                0.0,
                [],
                metadata={**self.provenance(cid), "status": "failed", "error": str(exc)},
            )
        if expl.metadata.get("status") in ("scored", "insufficient-data", "unscored"):
            self.cache.set(expl)
        return expl

    async def edit_explanation(self, centroid_id: int, text: str, llm_client: Any = None) -> CentroidExplanation:
        """Save a human edit, marked as such, and rescore it on held-out data.

        Offline, an edit is scored exactly when it reads as a rule (a category label, quoted tokens,
        "after 'x'"); with an LLM client that can run detection, free text is scored too. Otherwise the
        edit is kept and marked unscored: its confidence is 0, not a guess.
        """
        from .explainers.parse import rule_from_text

        cid = self._check_id(centroid_id)
        text = (text or "").strip()
        if not text:
            raise InputError("an explanation cannot be empty")
        old = self.cache.get(cid)
        rule = rule_from_text(text)
        draft = ExplanationDraft(text, "human", rule, {"rule": rule.to_json() if rule else None})
        try:
            score = await self._score(draft, cid, llm_client)
        except LLMError as exc:
            score = ScoreResult("llm-detection", None, status="failed", detail=str(exc))
        meta = {
            **(old.metadata if old else {}),
            **self.provenance(cid),
            "explainer": "human",
            "generation_method": "human",
            "prompt_version": None,
            "human_edited": True,
            "status": "scored" if score.ok else ("unscored" if score.status != "insufficient-data" else score.status),
            "score": score.to_dict(),
            "previous_explanation": old.explanation if old else None,
        }
        meta["evidence"] = {**(meta.get("evidence") or {}), "rule": rule.to_json() if rule else None}
        examples = old.top_k_examples if old else [e.text for e in self.get_top_k_validation_examples(cid)]
        record = CentroidExplanation(cid, text, score.confidence, examples, metadata=meta)
        self.cache.set(record)
        return record

    def accept_explanation(self, centroid_id: int) -> CentroidExplanation:
        from .records import now_iso

        cid = self._check_id(centroid_id)
        e = self.cache.get(cid)
        if e is None:
            raise InputError(f"centroid {cid} has no cached explanation to accept")
        e.metadata["accepted"] = now_iso()
        self.cache.set(e)
        return e

    # ------------------------------------------------------------------ sentences
    def tokenize(self, sentence: str) -> tuple[list[int], bool, int]:
        if not isinstance(sentence, str):
            raise InputError(f"sentence must be text, got {type(sentence).__name__}")
        if not sentence.strip():
            raise InputError("the sentence is empty: type some text to analyse")
        ids = self.tokenizer(sentence, add_special_tokens=False)["input_ids"]
        n = len(ids)
        if n > self.max_tokens:
            return ids[: self.max_tokens], True, n
        return ids, False, n

    async def analyze(
        self, sentence: str, k: int = 10, llm_client: Any = None, explain: bool = True
    ) -> SentenceAnalysis:
        ids, truncated, n = self.tokenize(sentence)
        batch = next(
            iter_activations(
                self.model, [ids], self.layer_idx, self.activation_type, self.sink_id, batch_tokens=len(ids) + 1
            )
        )
        near = nearest_two(self._normalised(batch.acts), self.centroids)
        act = self.activation(near.dist)
        explanations: dict[int, CentroidExplanation] = {}
        if explain:
            for cid in sorted(set(near.first.tolist())):
                explanations[cid] = await self.get_or_generate_explanation(cid, k, llm_client)
        rows = []
        for i, tid in enumerate(ids):
            cid = int(near.first[i])
            e = explanations.get(cid)
            rows.append(
                {
                    "position": i,
                    "token_id": int(tid),
                    "token_str": self.tokenizer.decode([int(tid)]),
                    "centroid_id": cid,
                    "explanation": e.explanation if e else "",
                    "confidence": float(e.confidence) if e else 0.0,
                    "activation": float(act[i]),
                    "distance": float(near.dist[i]),
                    "margin": float(near.margin[i]),
                    "runner_up_id": int(near.second[i]),
                    "norm": float(batch.acts[i].norm()),
                    "flags": list(e.metadata.get("flags", [])) if e else [],
                    "status": e.metadata.get("status", "") if e else "",
                }
            )
        notice = (
            (f"The text has {n} tokens; only the first {len(ids)} were analysed (the limit is {self.max_tokens}).")
            if truncated
            else ""
        )
        return SentenceAnalysis(rows, n, truncated, notice, explanations)

    async def analyze_sentence(self, sentence: str, k: int = 10, llm_client: Any = None) -> list[dict[str, Any]]:
        """One dict per token: position, token, centroid, explanation, measured confidence, activation,
        distance, margin to the runner-up centroid and its id."""
        return (await self.analyze(sentence, k, llm_client)).rows

    async def interpret_with_meta_model(self, sentence: str, k: int = 10, llm_client: Any = None) -> str:
        from .meta import interpret

        analysis = await self.analyze(sentence, k, llm_client)
        return await interpret(analysis, llm_client)
