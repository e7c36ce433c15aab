"""A stack on disk: one ordinary workspace per layer, and a stack folder that ties them together.

Each layer's workspace is the very folder `build --layer N` would write (same name, same contents), so
every page and API that opens a workspace keeps working, and a stack reuses layers already built. The
stack folder, a sibling of the workspaces, holds `stack.json` (the manifest) and the lineage between
adjacent layers. A stack whose layer was deleted still opens with the rest and says what is missing.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autointerp.build.pipeline import run_layers
from autointerp.config import BuildConfig, RunOptions, check_layers, default_workspace_root
from autointerp.errors import AutoInterpError, WorkspaceError
from autointerp.files import StagedFolder, atomic_write_text
from autointerp.layout import MANIFEST, is_stack
from autointerp.progress import Progress, silent
from autointerp.stack.lineage import Flow, Lineage, StackManifest, lineage_file, stack_folder_name
from autointerp.workspace import Workspace, is_built, workspace_path, write_workspace


def stack_path(config: BuildConfig, layers: list[int], root: str | os.PathLike[str] | None = None) -> Path:
    return Path(root or default_workspace_root()) / stack_folder_name(config, layers)


def stacks_containing(workspace: str | os.PathLike[str]) -> list[Path]:
    """Stack folders next to `workspace` whose manifest lists it, the one with most layers first."""
    ws = Path(workspace)
    found: list[tuple[int, str, Path]] = []
    if not ws.parent.is_dir():
        return []
    for d in ws.parent.iterdir():
        if not (d / MANIFEST).is_file():
            continue
        try:
            names = json.loads((d / MANIFEST).read_text()).get("workspaces", {})
        except (OSError, ValueError):
            continue
        if isinstance(names, dict) and ws.name in names.values():
            found.append((-len(names), d.name, d))
    return [p for _, _, p in sorted(found)]


def stacks_for(config: BuildConfig, root: str | os.PathLike[str] | None = None) -> dict[Path, list[int]]:
    """Stacks under `root` built from `config` (any layers), each with the layers whose workspace is on
    disk: what `analyze --layers` may use without building anything."""
    root_path = Path(root or default_workspace_root())
    shared = config.with_(layer=0)
    found: dict[Path, list[int]] = {}
    for d in sorted(root_path.iterdir()) if root_path.is_dir() else []:
        try:
            manifest = StackManifest.from_dict(json.loads((d / MANIFEST).read_text()))
            same = BuildConfig.from_dict(manifest.config).with_(layer=0) == shared
        except (OSError, ValueError, KeyError, TypeError, AutoInterpError):
            continue  # not a stack, or one this version cannot read: nothing to offer
        if same:
            found[d] = [x for x in manifest.layers if is_built(root_path / manifest.workspaces[x])]
    return found


def _lineages(spaces: dict[int, Workspace], layers: list[int]) -> dict[tuple[int, int], Lineage]:
    """Between each pair of adjacent layers, from their validation indexes."""
    out = {}
    for a, b in zip(layers, layers[1:], strict=False):
        ra, rb = spaces[a].splits["val"].index.records, spaces[b].splits["val"].index.records
        out[(a, b)] = Lineage.from_records(a, b, ra, rb, spaces[a].centroids.shape[0], spaces[b].centroids.shape[0])
    return out


def _write_stack(target: Path, manifest: StackManifest, lineages: dict[tuple[int, int], Lineage]) -> None:
    """Into a temporary sibling folder, then renamed: a stack appears whole or not at all."""
    with StagedFolder(target) as tmp:
        for (a, b), lin in lineages.items():
            lin.save(tmp / lineage_file(a, b))
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest.to_dict(), indent=2))


def build_stack(
    config: BuildConfig,
    layers: list[int],
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    options: RunOptions = RunOptions(),
) -> Path:
    """Build (or reuse) one workspace per layer, sharing every forward pass, then the stack folder.

    Layers already built (by `--layer N` or another stack) are reused unless `options.force`; the rest are
    built together. `config.layer` is ignored. The layers are checked here, once, for the whole build."""
    layers = check_layers(layers)
    root_path = Path(root or default_workspace_root())
    targets = {layer: workspace_path(config.with_(layer=layer), root_path) for layer in layers}
    target = stack_path(config, layers, root_path)
    todo = [layer for layer in layers if options.force or not is_built(targets[layer])]
    if not todo and is_stack(target):
        return target
    stats: dict[str, Any] = {"built": todo, "reused": [x for x in layers if x not in todo]}
    if todo:
        results = run_layers(config, todo, progress, options)
        for layer, result in results.items():
            write_workspace(result, targets[layer], progress)
        stats.update(times=results[todo[0]].stats["times"], total_s=results[todo[0]].stats["total_s"])
    progress("lineage", 0, 1)
    spaces = {layer: Workspace.open(targets[layer]) for layer in layers}
    lineages = _lineages(spaces, layers)
    progress("lineage", 1, 1)
    manifest = StackManifest(
        layers=layers,
        workspaces={layer: p.name for layer, p in targets.items()},
        config=config.with_(layer=layers[-1]).to_dict(),
        lineage={f"{a}-{b}": lineage_file(a, b) for a, b in lineages},
        created=time.strftime("%Y-%m-%dT%H:%M:%S"),
        stats=stats,
    )
    _write_stack(target, manifest, lineages)
    return target


@dataclass
class Stack:
    """An opened stack: the layers present on disk, what is missing and why, and the lineage between
    adjacent present layers (read from the stack folder, or computed from the indexes when a missing
    layer made two layers adjacent)."""

    path: Path
    manifest: StackManifest
    workspaces: dict[int, Workspace]
    missing: dict[int, str] = field(default_factory=dict)
    lineages: dict[tuple[int, int], Lineage] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Stack:
        p = Path(path)
        if not is_stack(p):
            raise WorkspaceError(f"{p} is not a stack (run `python -m autointerp build --layers ...`)")
        try:
            manifest = StackManifest.from_dict(json.loads((p / MANIFEST).read_text()))
        except WorkspaceError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorkspaceError(f"the stack manifest in {p} is damaged ({exc}); rebuild it with --force") from exc
        spaces, missing = {}, {}
        for layer in manifest.layers:
            folder = p.parent / manifest.workspaces[layer]
            try:
                spaces[layer] = Workspace.open(folder)
            except WorkspaceError as exc:
                missing[layer] = f"{folder.name}: {exc}" if folder.exists() else f"{folder.name} is not on disk"
        if not spaces:
            raise WorkspaceError(f"none of the layers of stack {p.name} is on disk; rebuild it")
        stack = cls(p, manifest, spaces, missing)
        stack.lineages = stack.load_lineages()
        return stack

    def load_lineages(self) -> dict[tuple[int, int], Lineage]:
        out = {}
        for a, b in zip(self.layers, self.layers[1:], strict=False):
            f = self.path / lineage_file(a, b)
            try:
                out[(a, b)] = Lineage.load(f)
            except (OSError, ValueError, KeyError):  # not stored (a layer between went missing) or damaged
                out.update(_lineages(self.workspaces, [a, b]))
        return out

    @property
    def layers(self) -> list[int]:
        """The layers present on disk, shallowest first."""
        return sorted(self.workspaces)

    @property
    def notice(self) -> str:
        if not self.missing:
            return ""
        gone = "; ".join(f"layer {layer} ({why})" for layer, why in sorted(self.missing.items()))
        shown = ", ".join(map(str, self.layers))
        return f"Missing from this stack: {gone}. Showing layers {shown}; rebuild the stack to restore the rest."

    def previous(self, layer: int) -> int | None:
        below = [x for x in self.layers if x < layer]
        return below[-1] if below else None

    def next(self, layer: int) -> int | None:
        above = [x for x in self.layers if x > layer]
        return above[0] if above else None

    def lineage(self, source: int, target: int) -> Lineage | None:
        return self.lineages.get((source, target))

    def parents(self, layer: int, centroid_id: int) -> list[Flow]:
        """Centroids of the previous present layer that feed `centroid_id`, largest share first."""
        prev = self.previous(layer)
        lin = self.lineage(prev, layer) if prev is not None else None
        return lin.parents(centroid_id) if lin is not None else []

    def children(self, layer: int, centroid_id: int) -> list[Flow]:
        """Centroids of the next present layer where `centroid_id`'s tokens land, largest share first."""
        nxt = self.next(layer)
        lin = self.lineage(layer, nxt) if nxt is not None else None
        return lin.children(centroid_id) if lin is not None else []

    def layer_of(self, workspace: str | os.PathLike[str]) -> int | None:
        """The layer a workspace folder holds in this stack, if any."""
        name = Path(workspace).name
        return next((layer for layer, ws in self.workspaces.items() if ws.path.name == name), None)
