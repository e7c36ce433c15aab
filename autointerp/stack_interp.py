"""StackInterp: a stack's layers as `KMeansAutoInterp`s sharing one model, analysed in one forward pass."""

from __future__ import annotations

import os
from typing import Any

from autointerp.analysis.depth import DepthAnalysis, DepthAnalyzer, depth_text
from autointerp.core.models import load_model
from autointerp.errors import InputError
from autointerp.explain.llm_choice import ExplainPlan, LLMChoice
from autointerp.interp import KMeansAutoInterp
from autointerp.stack.folder import Stack


class StackInterp:
    """Every present layer of a stack, one `KMeansAutoInterp` each (its workspace, its explanation cache)."""

    def __init__(self, stack: Stack, interps: dict[int, KMeansAutoInterp]):
        self.stack = stack
        self.interps = dict(sorted(interps.items()))
        model = next(iter(self.interps.values())).model
        self.depth = DepthAnalyzer(model, {layer: i.analyzer for layer, i in self.interps.items()})

    @classmethod
    def open(cls, path: str | os.PathLike[str], model: Any = None, layers: list[int] | None = None) -> StackInterp:
        """Open a stack folder; `layers` picks a subset (each must be in the stack and on disk)."""
        stack = Stack.open(path)
        chosen = stack.layers if layers is None else layers
        absent = [x for x in chosen if x not in stack.workspaces]
        if absent:
            have = ", ".join(map(str, stack.layers))
            why = "; ".join(stack.missing[x] for x in absent if x in stack.missing)
            raise InputError(
                f"layer(s) {', '.join(map(str, absent))} not available in this stack (it has {have})"
                + (f": {why}" if why else "")
            )
        if model is None:
            cfg = stack.workspaces[chosen[0]].config
            model = load_model(cfg.model, dtype=cfg.dtype)
        interps = {x: KMeansAutoInterp.from_workspace(stack.workspaces[x].path, model=model) for x in chosen}
        return cls(stack, interps)

    @property
    def layers(self) -> list[int]:
        return list(self.interps)

    async def analyze(
        self, sentence: str, k: int = 10, llm_client: LLMChoice = None, explain: bool = True
    ) -> DepthAnalysis:
        """Every layer's centroid, explanation and measured confidence for each token, one forward pass."""
        return await self.depth.analyze(sentence, k, ExplainPlan.of(llm_client), explain, notice=self.stack.notice)

    async def depth_interpretation(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> str:
        return depth_text(await self.analyze(sentence, k, llm_client))

    async def interpret_with_meta_model(self, sentence: str, k: int = 10, llm_client: LLMChoice = None) -> str:
        """The deepest layer's meta-interpretation, then the depth section, from one forward pass."""
        plan = ExplainPlan.of(llm_client)  # resolved once for the analysis and the meta text
        return await self.meta_text(await self.analyze(sentence, k, plan), plan)

    async def meta_text(self, depth: DepthAnalysis, llm_client: LLMChoice = None) -> str:
        """The meta-interpretation of an analysis already made (its notice can then be shown first)."""
        deepest = self.layers[-1]
        meta = await self.interps[deepest].interpret_analysis(depth.per_layer[deepest], llm_client)
        return f"AT LAYER {deepest}:\n{meta}\n\n{depth_text(depth)}"
