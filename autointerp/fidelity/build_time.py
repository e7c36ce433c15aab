"""The fidelity of a fresh build, measured on its held-out split before the workspace is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch

from autointerp.config import BuildConfig
from autointerp.core.centroids_io import FitInfo
from autointerp.errors import InputError
from autointerp.fidelity.measure import HELDOUT_WINDOWS, Target, measure, windows_as_documents
from autointerp.fidelity.records import FidelityRecord
from autointerp.progress import Progress, silent


class BuiltSplit(Protocol):
    @property
    def windows(self) -> np.ndarray: ...


class BuiltLayer(Protocol):
    """What fidelity reads of a fresh build: the build stage's `BuildResult` fits it, so this stage never
    imports the build stage."""

    @property
    def config(self) -> BuildConfig: ...
    @property
    def centroids(self) -> torch.Tensor: ...
    @property
    def center(self) -> torch.Tensor | None: ...
    @property
    def info(self) -> FitInfo: ...
    @property
    def splits(self) -> Mapping[str, BuiltSplit]: ...
    @property
    def model(self) -> Any: ...


def target_for(config: BuildConfig, centroids: torch.Tensor, center: torch.Tensor | None, info: FitInfo) -> Target:
    """The patch a workspace's codebook defines, from what its centroids file records."""
    return Target(
        layer=int(config.layer),
        site=config.site,
        sink_id=info.sink_token_id,
        centroids=centroids,
        center=center,
        normalisation=str(info.normalisation or config.normalisation),
        seed=int(config.seed),
    )


def heldout_documents(windows: np.ndarray | None, limit: int | None = HELDOUT_WINDOWS) -> list[list[int]]:
    """The held-out windows fidelity is measured on; a one-line error when there are none."""
    docs = windows_as_documents(windows, limit) if windows is not None else []
    if not any(len(d) >= 1 for d in docs):
        raise InputError("this workspace has no held-out data to measure fidelity on; rebuild it")
    return docs


def measure_build(model: Any, result: BuiltLayer, progress: Progress = silent) -> FidelityRecord | None:
    """None when the corpus left the held-out split empty: the build still succeeds, without the record
    (`fidelity --workspace` then says why)."""
    stage = f"fidelity (layer {result.config.layer})"
    progress(stage, 0, 1)
    held = result.splits.get("heldout")
    try:
        docs = heldout_documents(held.windows if held is not None else None)
    except InputError:
        return None
    target = target_for(result.config, result.centroids, result.center, result.info)
    record = measure(model, target, docs, "heldout").record
    progress(stage, 1, 1)
    return record
