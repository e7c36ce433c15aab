"""Where each part of a workspace and a stack lives on disk, with no heavy import: the CLI asks "is this
built?" before loading torch or a model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MANIFEST = "stack.json"  # a stack folder's manifest: its presence makes the folder a stack


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


def is_built(path: Path) -> bool:
    return Layout(path).done.exists()


def is_stack(path: Path) -> bool:
    return (Path(path) / MANIFEST).exists()
