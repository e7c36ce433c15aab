"""Estimating an LLM explanation run before paying for it: calls and prompt tokens."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from autointerp.explain.prompts.detect import BATCH, detection_prompt
from autointerp.explain.prompts.explain import explanation_prompt
from autointerp.explain.splits import SplitView


@dataclass
class RunEstimate:
    centroids: int
    calls: int
    prompt_tokens: int
    sampled: int

    def describe(self) -> str:
        return (
            f"{self.centroids} centroids → about {self.calls:,} LLM calls and {self.prompt_tokens:,} prompt "
            f"tokens (measured on {self.sampled} sampled centroids with the workspace tokenizer; a remote "
            "model's tokenizer may count differently)"
        )


def estimate_llm_run(
    validation: SplitView | None, heldout: SplitView | None, tokenizer: Any, ids: list[int], sample: int = 8
) -> RunEstimate:
    """Builds the real prompts for a sample of centroids and scales up: one explanation call plus the
    detection batches per centroid."""
    tok = tokenizer
    if not ids or validation is None or heldout is None:
        return RunEstimate(len(ids), 0, 0, 0)
    step = max(1, len(ids) // sample)
    picked = ids[::step][:sample]
    calls = tokens = 0
    for cid in picked:
        ev = validation.sampler.evidence(cid)
        tokens += len(tok(explanation_prompt(ev), add_special_tokens=False)["input_ids"])
        data = heldout.sampler.scoring_set(cid)
        n = heldout.sampler.scoring.detection_sample
        items = data.positives[:n] + data.hard_negatives[: n // 2] + data.random_negatives[: n // 2]
        batches = math.ceil(len(items) / BATCH)
        calls += 1 + batches
        for b in range(batches):
            chunk = items[b * BATCH : (b + 1) * BATCH]
            tokens += len(
                tok(detection_prompt("an explanation of about ten words", chunk), add_special_tokens=False)["input_ids"]
            )
    scale = len(ids) / len(picked)
    return RunEstimate(len(ids), round(calls * scale), round(tokens * scale), len(picked))
