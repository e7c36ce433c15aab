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

from autointerp.build.centroids_io import load_kmeans_centroids, save_kmeans_centroids
from autointerp.build.concepts import ConceptTable, SplitConcepts
from autointerp.build.index import ValidationIndex
from autointerp.build.pipeline import SCORED_SPLITS, BuildResult, run_build
from autointerp.config import BuildConfig, default_workspace_root
from autointerp.errors import CentroidFileError, WorkspaceError
from autointerp.fidelity.output_side import OutputSide
from autointerp.fidelity.outputs import load_output_side, output_sides_for, save_output_sides
from autointerp.files import StagedFolder, atomic_write_text
from autointerp.progress import Progress, silent

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Layout:
    """Where each part of a workspace lives; the build writes through it and `Workspace.open` reads it."""

    root: Path

    @property
    def done(self) -> Path:  # written last: its presence means the build finished
        return self.root / "build.json"

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def centroids(self) -> Path:
        return self.root / "centroids.pt"

    @property
    def explanations(self) -> Path:
        return self.root / "explanations"

    def index(self, split: str) -> Path:
        return self.root / f"index_{split}"

    def windows(self, split: str) -> Path:
        return self.root / f"windows_{split}.npy"

    def tags(self, split: str) -> Path:
        return self.root / f"tags_{split}.npy"

    @property
    def concept_names(self) -> Path:  # WordNet concept names and lemmas (build/concepts.py)
        return self.root / "concepts.json"

    @property
    def concept_sets(self) -> Path:
        return self.root / "concepts.npz"

    def concept_codes(self, split: str) -> Path:
        return self.root / f"concepts_{split}.npy"

    @property
    def output_side(self) -> Path:  # one centroid_<id>.json per centroid: what it does to the output
        return self.root / "output_side"


def workspace_path(config: BuildConfig, root: str | os.PathLike[str] | None = None) -> Path:
    return Path(root or default_workspace_root()) / config.folder_name()


def is_built(path: Path) -> bool:
    return Layout(path).done.exists()


def list_workspaces(root: str | os.PathLike[str] | None = None) -> list[Path]:
    r = Path(root or default_workspace_root())
    if not r.is_dir():
        return []
    return sorted((p for p in r.iterdir() if p.is_dir() and is_built(p)), key=lambda p: p.stat().st_mtime)


def write_workspace(result: BuildResult, target: Path, progress: Progress = silent) -> Path:
    """Write into a temporary sibling folder, then rename: a workspace appears whole or not at all.

    The output side of every centroid is computed here, with the build's model (none without one)."""
    sides, sides_s = output_sides_for(result, progress) if result.model is not None else ([], 0.0)
    try:
        staging = StagedFolder(target)
    except OSError as exc:
        raise WorkspaceError(f"cannot write a workspace under {target.parent}: {exc.strerror or exc}") from exc
    with staging as tmp:
        out = Layout(tmp)
        save_kmeans_centroids(out.centroids, result.centroids, result.metadata, result.center)
        for split, part in result.splits.items():
            part.index.save(out.index(split))
            np.save(out.windows(split), part.windows)
            if part.tags is not None:
                np.save(out.tags(split), part.tags)
            if part.concepts is not None:
                np.save(out.concept_codes(split), part.concepts)
        if result.concepts is not None:
            result.concepts.save(out.concept_names, out.concept_sets)
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
    model: Any = None,
    force: bool = False,
    backend: str = "local",
    workers: int = 2,
) -> Path:
    """Build (or reuse) the workspace for `config`.

    `backend="ray"` shards extraction, k-means statistics and indexing across Ray workers (optional
    dependency: requirements-ray.txt); the result matches the local backend up to float summation order."""
    target = workspace_path(config, root)
    if is_built(target) and not force:
        return target
    return write_workspace(run_build(config, progress, model, backend, workers), target, progress)


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
    metadata: dict[str, Any]
    center: torch.Tensor | None
    splits: dict[str, SplitData]
    build: dict[str, Any]

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
            centroids, metadata = load_kmeans_centroids(where.centroids)
            center = metadata.pop("center", None)
            k = centroids.shape[0]
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
            return cls(p, config, centroids, metadata, center, splits, build)
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
