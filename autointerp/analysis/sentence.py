"""Sentence analysis: one forward pass, each token's centroid, explanation and measured confidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from autointerp.checks import check_sentence
from autointerp.core.activations import iter_activations
from autointerp.core.space import CentroidSpace
from autointerp.explain.lifecycle import Explanations
from autointerp.explain.llm_choice import OFFLINE, ExplainPlan
from autointerp.explain.outcomes import stand_in_note
from autointerp.records import CentroidExplanation, SentenceRow
from autointerp.tokens import token_texts


@dataclass(repr=False)
class SentenceAnalysis:
    rows: list[SentenceRow]
    n_input_tokens: int
    truncated: bool = False
    notice: str = ""
    explanations: dict[int, CentroidExplanation] = field(default_factory=dict)

    def __repr__(self) -> str:
        # short on purpose: asyncio.run reprs its task's result on the way out (CPython 3.11's SIGINT
        # handler restore), and a full dataclass repr of every row cost milliseconds per analysis
        return f"SentenceAnalysis({len(self.rows)} rows, {len(self.explanations)} explanations)"


@dataclass(frozen=True)
class Site:
    """Where activations are read: the layer, the site and the sink token prefixed to each window."""

    layer: int
    site: str
    sink_id: int | None


def decode_tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    """Each token as every view shows it: a byte piece of a character as that character or its bytes, never "�"
    (`autointerp.tokens`)."""
    return token_texts(tokenizer, ids)


class SentenceAnalyzer:
    def __init__(self, model: Any, site: Site, space: CentroidSpace, explanations: Explanations, max_tokens: int):
        self.model = model
        self.site = site
        self.space = space
        self.explanations = explanations
        self.max_tokens = max_tokens

    def tokenize(self, sentence: str) -> tuple[list[int], bool, int]:
        """Token ids (cut to `max_tokens`), whether they were cut, and the full count."""
        check_sentence(sentence)
        ids = self.model.tokenizer(sentence, add_special_tokens=False)["input_ids"]
        n = len(ids)
        return (ids[: self.max_tokens], True, n) if n > self.max_tokens else (ids, False, n)

    async def analyze(
        self, sentence: str, n_examples: int = 10, plan: ExplainPlan = OFFLINE, explain: bool = True
    ) -> SentenceAnalysis:
        ids, truncated, n = self.tokenize(sentence)
        s = self.site
        batch = next(iter_activations(self.model, [ids], s.layer, s.site, s.sink_id, batch_tokens=len(ids) + 1))
        return await self.from_activations(ids, batch.acts, n, n_examples, plan, explain)

    async def from_activations(
        self,
        ids: list[int],
        acts: torch.Tensor,
        n_input: int,
        n_examples: int = 10,  # validation examples an explanation is generated from
        plan: ExplainPlan = OFFLINE,
        explain: bool = True,
        token_strs: list[str] | None = None,
        note_stand_ins: bool = True,
    ) -> SentenceAnalysis:
        """Rows for tokens whose activations at this site were already read (`analyze`, or one forward
        pass shared by several layers); `n_input` is the token count before truncation. `token_strs`, the
        decoded tokens, lets several layers share one decoding."""
        near = self.space.nearest(acts)
        act = self.space.activation(near.dist)
        explanations: dict[int, CentroidExplanation] = {}
        if explain:
            for cid in sorted(set(near.first.tolist())):
                explanations[cid] = await self.explanations.get_or_generate(cid, n_examples, plan)
        if token_strs is None:
            token_strs = decode_tokens(self.model.tokenizer, ids)
        # plain lists once: indexing tensors element by element costs a dispatch per value and layer
        first, second = near.first.tolist(), near.second.tolist()
        dist, margin, strength = near.dist.tolist(), near.margin.tolist(), act.tolist()
        norms = acts.norm(dim=1).tolist()
        rows = []
        for i, tid in enumerate(ids):
            cid = int(first[i])
            e = explanations.get(cid)
            rows.append(
                SentenceRow(
                    position=i,
                    token_id=int(tid),
                    token_str=token_strs[i],
                    centroid_id=cid,
                    explanation=e.explanation if e else "",
                    confidence=float(e.confidence) if e else 0.0,
                    activation=float(strength[i]),
                    distance=float(dist[i]),
                    margin=float(margin[i]),
                    runner_up_id=int(second[i]),
                    norm=float(norms[i]),
                    flags=list(e.info.flags) if e else [],
                    status=e.status if e else None,
                    explainer=(e.info.explainer or "") if e else "",
                )
            )
        truncated = n_input > len(ids)
        notes = [
            f"The text has {n_input} tokens; only the first {len(ids)} were analysed (the limit is {self.max_tokens})."
            if truncated
            else "",
            self.stand_in_note(explanations.values(), plan) if note_stand_ins else "",
        ]
        return SentenceAnalysis(rows, n_input, truncated, " ".join(x for x in notes if x), explanations)

    def stand_in_note(self, records: Iterable[CentroidExplanation], plan: ExplainPlan) -> str:
        """Said when an explainer was requested and other explanations (cached, offline) stand in for it."""
        if plan.explainer is None:
            return ""
        return stand_in_note(records, plan.explainer.name)
