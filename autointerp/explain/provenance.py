"""What produced a cached explanation, so a mismatch marks it stale instead of being silently reused."""

from __future__ import annotations

import hashlib

import torch

from autointerp.records import ExplanationInfo, Provenance


def centroid_hash(vector: torch.Tensor) -> str:
    data = vector.detach().cpu().float().contiguous().numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:16]


def stale_reasons(cached: ExplanationInfo, current: Provenance, explainer: tuple[str, str] | None) -> list[str]:
    """Why a cached record no longer matches; empty when it is current.

    `explainer` is (name, prompt version) of the explainer that would run now: a changed prompt only
    counts when that same explainer made the record. A human edit stays valid across explainers, but
    not across a changed centroid or scoring setup.
    """
    if cached.provenance is None:
        return ["no provenance recorded"]
    reasons = cached.provenance.differences(current)
    same_explainer = explainer is not None and not cached.human_edited and cached.explainer == explainer[0]
    if same_explainer and explainer is not None and (cached.prompt_version or "") != explainer[1]:
        reasons.append(f"prompt_version: {cached.prompt_version!r} → {explainer[1]!r}")
    return reasons
