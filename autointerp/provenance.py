"""What produced a cached explanation, so a mismatch marks it stale instead of being silently reused."""

from __future__ import annotations

import hashlib
from typing import Any

import torch

# Keys whose change makes an explanation describe something else.
IDENTITY_KEYS = ("model", "layer", "site", "centroid_hash", "corpus", "normalisation")


def centroid_hash(vector: torch.Tensor) -> str:
    data = vector.detach().cpu().float().contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def stale_reasons(
    cached: dict[str, Any] | None, current: dict[str, Any], explainer_prompt: tuple[str, str] | None
) -> list[str]:
    """Why a cached record no longer matches; empty when it is current.

    The explainer's prompt version only counts when the same explainer would run again; a human edit
    stays valid across explainers but not across a changed centroid.
    """
    if not cached:
        return ["no provenance recorded"]
    reasons = [f"{k}: {cached.get(k)!r} → {current.get(k)!r}" for k in IDENTITY_KEYS if cached.get(k) != current.get(k)]
    same_explainer = explainer_prompt and cached.get("explainer") == explainer_prompt[0]
    if same_explainer and cached.get("prompt_version") != explainer_prompt[1]:
        reasons.append(f"prompt_version: {cached.get('prompt_version')!r} → {explainer_prompt[1]!r}")
    return reasons
