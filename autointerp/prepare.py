"""A workspace ready to show: built, then every centroid explained offline, so the map starts in colour.

Used by `python -m autointerp build` and the dashboard's first launch. The offline explainer needs no LLM and
takes a few seconds for 256 centroids; explanations already cached and current are kept, so a rerun resumes.
It also hands the dashboard the few model-runtime calls it makes itself (load, convert, release, the nnsight
mount), so app.py needs no core import.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from autointerp.config import BuildConfig, RunOptions
from autointerp.core.models import load_model, release_memory, resolve_model_path
from autointerp.core.nnsight_mount import disable_pymount
from autointerp.core.search import use_compiled_loops
from autointerp.explain.lifecycle import ExplainCounts
from autointerp.interp import KMeansAutoInterp
from autointerp.progress import Progress, silent
from autointerp.stack.folder import build_stack
from autointerp.workspace import build_workspace, workspace_path

__all__ = [
    "disable_pymount",
    "explain_offline",
    "load_model",
    "prepare_stack",
    "prepare_workspace",
    "release_memory",
    "resolve_model_path",
    "use_compiled_loops",
]

EXPLAIN_STAGE = "explain every centroid (offline)"


def explain_offline(interp: KMeansAutoInterp, progress: Progress = silent, stage: str = EXPLAIN_STAGE) -> ExplainCounts:
    ids = list(range(interp.num_centroids))
    progress(stage, 0, len(ids))
    return asyncio.run(interp.explain_all(ids, concurrency=1, on_done=lambda i, n: progress(stage, i, n)))


def _model(config: BuildConfig, model: Any, progress: Progress) -> Any:
    if model is None:
        progress("load model", 0, 1)
        model = load_model(config.model, dtype=config.dtype, progress=progress)
        progress("load model", 1, 1)
    return model


def prepare_workspace(
    config: BuildConfig,
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    options: RunOptions = RunOptions(),
) -> Path:
    """Build (or reuse) the workspace for `config`, then explain its centroids offline unless
    `options.explain` is off. The model is loaded once and shared by both steps."""
    model = _model(config, options.model, progress)
    path = build_workspace(config, root, progress, options.with_(model=model))
    if options.explain:
        explain_offline(KMeansAutoInterp.from_workspace(path, model=model), progress)
    return path


def prepare_stack(
    config: BuildConfig,
    layers: list[int],
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    options: RunOptions = RunOptions(),
) -> Path:
    """`prepare_workspace` for a stack: build it, then explain every layer's centroids offline."""
    model = _model(config, options.model, progress)
    path = build_stack(config, layers, root, progress, options.with_(model=model))
    if options.explain:
        for layer in sorted(set(layers)):
            ws = workspace_path(config.with_(layer=layer), root)
            explain_offline(
                KMeansAutoInterp.from_workspace(ws, model=model), progress, f"{EXPLAIN_STAGE}, layer {layer}"
            )
    return path
