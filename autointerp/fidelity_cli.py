"""`python -m autointerp fidelity`: the stored fidelity of a workspace (or each layer of a stack), or the
figures measured afresh on a text file. Every input is checked before the model loads."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autointerp.config import BuildConfig, parse_layers
from autointerp.errors import InputError
from autointerp.fidelity.build_time import heldout_documents, target_for
from autointerp.fidelity.measure import MEMBERS_PER_CENTROID, measure, read_text_documents
from autointerp.fidelity.records import FidelityRecord
from autointerp.workspace import Workspace, is_built, workspace_path


@dataclass
class Request:
    """What to measure: the workspaces (one per layer) and the documents, or None for the held-out split."""

    paths: list[Path]
    lines: list[str] | None


def _layer_paths(a: argparse.Namespace, config: BuildConfig, layers: list[int]) -> list[Path]:
    """Beside `--workspace`, the workspaces of the same build at each layer; they must exist."""
    if not a.workspace:
        from autointerp.progress import TqdmProgress
        from autointerp.stack import build_stack

        with TqdmProgress() as bars:
            build_stack(config, layers, a.out, bars)
        return [workspace_path(config.with_(layer=x), a.out) for x in layers]
    root = Path(a.workspace).parent
    paths = [workspace_path(config.with_(layer=x), root) for x in layers]
    built = sorted(
        int(Workspace.open(p).config.layer)
        for p in root.iterdir()
        if p.is_dir() and is_built(p) and p.name.split("-L")[0] == paths[0].name.split("-L")[0]
    )
    for layer, p in zip(layers, paths, strict=True):
        if not is_built(p):
            have = ", ".join(map(str, built)) or "none"
            raise InputError(f"unknown layer {layer}: no workspace for it beside {a.workspace} (layers built: {have})")
    return paths


def resolve(a: argparse.Namespace, config: BuildConfig) -> Request:
    """The workspaces and documents, all checked without loading the model (but for a build)."""
    lines = read_text_documents(a.text_file) if a.text_file else None
    if a.workspace:
        config = Workspace.open(a.workspace).config
    if a.layers is not None:
        paths = _layer_paths(a, config, parse_layers(a.layers))
    elif a.workspace:
        paths = [Path(a.workspace)]
    else:
        from autointerp.progress import TqdmProgress
        from autointerp.workspace import build_workspace

        with TqdmProgress() as bars:
            paths = [build_workspace(config, a.out, bars)]
    if lines is None:
        for p in paths:
            held = Workspace.open(p).splits.get("heldout")
            heldout_documents(held.windows if held is not None else None)
    return Request(paths, lines)


def measure_request(req: Request) -> list[FidelityRecord]:
    """Stored records where they answer the question; the model is loaded only when something is measured."""
    model: Any = None
    out = []
    for p in req.paths:
        ws = Workspace.open(p)
        if req.lines is None and ws.fidelity is not None:
            out.append(ws.fidelity)
            continue
        if model is None:
            from autointerp.core.models import load_model

            model = load_model(ws.config.model, dtype=ws.config.dtype)
        target = target_for(ws.config, ws.centroids, ws.center, ws.info)
        if req.lines is None:
            docs, source = heldout_documents(ws.splits["heldout"].windows), "heldout"
        else:
            docs = [model.tokenizer(x, add_special_tokens=False)["input_ids"][:128] for x in req.lines]
            source = "text-file"
        # a text file's figures are the headline ones: the per-centroid pass (the stored record's) is skipped
        members = 0 if req.lines is not None else MEMBERS_PER_CENTROID
        out.append(measure(model, target, docs, source, members=members).record)
    return out


def format_record(r: FidelityRecord) -> str:
    return (
        f"layer {r.layer}, k={r.k}, {r.tokens} tokens ({r.source}): CE clean {r.ce_clean:.3f}, "
        f"mean-ablated {r.ce_ablated:.3f}, patched {r.ce_patched:.3f}; CE loss recovered {r.ce_recovered:.3f}, "
        f"FVE {r.fve:.3f} (random directions: {r.random.ce_recovered:.3f}, {r.random.fve:.3f})"
    )


def run_fidelity(a: argparse.Namespace, config: BuildConfig) -> int:
    records = measure_request(resolve(a, config))
    if a.json:
        objs = [r.summary() for r in records]
        print(json.dumps(objs if a.layers is not None else objs[0], indent=1))
    else:
        print("\n".join(format_record(r) for r in records))
    return 0
