"""A workspace on disk: its layout (written and read in this one place), atomic writing and loading."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autointerp.build.pipeline import SCORED_SPLITS, BuildResult, run_build
from autointerp.config import BuildConfig, RunOptions, default_workspace_root
from autointerp.core.centroids_io import FitInfo, read_centroid_file, save_kmeans_centroids
from autointerp.core.index import ValidationIndex
from autointerp.core.models import release_memory
from autointerp.data.concepts import ConceptTable, SplitConcepts
from autointerp.errors import CentroidFileError, WorkspaceError
from autointerp.fidelity.build_time import measure_build
from autointerp.fidelity.output_side import OutputSide
from autointerp.fidelity.outputs import load_output_side, output_sides_for, save_output_sides
from autointerp.fidelity.records import FidelityRecord, load_record, save_record
from autointerp.files import StagedFolder, atomic_write_text
from autointerp.layout import Layout, is_built
from autointerp.progress import Progress, silent

FORMAT_VERSION = 1


def workspace_path(config: BuildConfig, root: str | os.PathLike[str] | None = None) -> Path:
    return Path(root or default_workspace_root()) / config.folder_name()


def list_workspaces(root: str | os.PathLike[str] | None = None) -> list[Path]:
    r = Path(root or default_workspace_root())
    if not r.is_dir():
        return []
    return sorted((p for p in r.iterdir() if p.is_dir() and is_built(p)), key=lambda p: p.stat().st_mtime)


def write_workspace(result: BuildResult, target: Path, progress: Progress = silent) -> Path:
    """Write into a temporary sibling folder, then rename: a workspace appears whole or not at all.

    Fidelity and the output side of every centroid are measured here, with the build's model (none without one)."""
    release_memory()  # the extraction's and tagging's freed blocks: the two measurements below reuse them
    sides, sides_s = output_sides_for(result, progress) if result.model is not None else ([], 0.0)
    release_memory()
    fidelity = measure_build(result.model, result, progress) if result.model is not None else None
    release_memory()
    try:
        staging = StagedFolder(target)
    except OSError as exc:
        raise WorkspaceError(f"cannot write a workspace under {target.parent}: {exc.strerror or exc}") from exc
    with staging as tmp:
        out = Layout(tmp)
        save_kmeans_centroids(out.centroids, result.centroids, result.info, result.center)
        for split, part in result.splits.items():
            part.index.save(out.index(split))
            np.save(out.windows(split), part.windows)
            if part.tags is not None:
                np.save(out.tags(split), part.tags)
            if part.concepts is not None:
                np.save(out.concept_codes(split), part.concepts)
        if result.concepts is not None:
            result.concepts.save(out.concept_names, out.concept_sets)
        if fidelity is not None:
            save_record(tmp, fidelity)
        save_output_sides(out.output_side, sides)
        atomic_write_text(out.config, json.dumps(result.config.to_dict(), indent=2))
        build = {"format_version": FORMAT_VERSION, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **result.stats}
        build["output_side_s"] = sides_s
        atomic_write_text(out.done, json.dumps(build, indent=2))
    return target


def build_workspace(
    config: BuildConfig,
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    options: RunOptions = RunOptions(),
) -> Path:
    """Build (or reuse, unless `options.force`) the workspace for `config`.

    `options.backend="ray"` shards extraction, k-means statistics and indexing across Ray workers (optional
    dependency: requirements-ray.txt); the result matches the local backend up to float summation order."""
    target = workspace_path(config, root)
    if is_built(target) and not options.force:
        return target
    return write_workspace(run_build(config, progress, options), target, progress)


@dataclass
class SplitData:
    """One split as loaded: its index, windows, optional tags and optional concept codes."""

    index: ValidationIndex
    windows: np.ndarray
    tags: np.ndarray | None
    concepts: SplitConcepts | None = None


@dataclass
class Workspace:
    path: Path
    config: BuildConfig
    centroids: torch.Tensor
    info: FitInfo  # how the clusters were made
    center: torch.Tensor | None
    splits: dict[str, SplitData]
    build: dict[str, Any]
    fidelity: FidelityRecord | None = None  # measured at build time; None for a workspace built before it

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Workspace:
        p = Path(path)
        if not is_built(p):
            raise WorkspaceError(f"{p} is not a built workspace (run `python -m autointerp build`)")
        where = Layout(p)
        try:
            build = json.loads(where.done.read_text())
            if build.get("format_version") != FORMAT_VERSION:
                raise WorkspaceError(f"{p} was built by another version; rebuild it with --force")
            config = BuildConfig.from_dict(json.loads(where.config.read_text()))
            file = read_centroid_file(where.centroids)
            k = file.centroids.shape[0]
            table = ConceptTable.load(where.concept_names, where.concept_sets) if where.concept_names.exists() else None
            splits = {
                s: SplitData(
                    ValidationIndex.load(where.index(s), k),
                    np.load(where.windows(s)),
                    np.load(where.tags(s)) if where.tags(s).exists() else None,
                    SplitConcepts(table, np.load(where.concept_codes(s))) if table is not None else None,
                )
                for s in SCORED_SPLITS
            }
            return cls(p, config, file.centroids, file.info, file.center, splits, build, load_record(p))
        except WorkspaceError:
            raise
        except (OSError, ValueError, KeyError, CentroidFileError) as exc:
            raise WorkspaceError(f"workspace {p} is damaged ({exc}); rebuild it with --force") from exc

    @property
    def explanations_dir(self) -> Path:
        return Layout(self.path).explanations

    def output_side(self, centroid_id: int) -> OutputSide | None:
        """What the centroid does to the output (fidelity/outputs.py); None for a workspace built before it."""
        return load_output_side(Layout(self.path).output_side, centroid_id)

    @property
    def attribution(self) -> str:
        return str(self.build.get("attribution", ""))
