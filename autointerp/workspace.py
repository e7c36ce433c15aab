"""Building a workspace folder (centroids + validation/held-out indexes) and loading it in one call."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .activations import iter_activations, model_device
from .cache import atomic_write_text
from .centroids_io import load_kmeans_centroids, save_kmeans_centroids
from .config import BuildConfig, default_workspace_root
from .corpus import SPLITS, WIKI_ATTRIBUTION, TokenWindows, make_windows, read_corpus
from .errors import CentroidFileError, WorkspaceError
from .index import TokenRecords, ValidationIndex
from .kmeans import fit_kmeans, nearest_two, normalise
from .models import check_layer_and_site, load_model, model_name, sink_token_id
from .progress import Progress, silent
from .texts import pad_windows

log = logging.getLogger(__name__)
FORMAT_VERSION = 1
DONE_FILE = "build.json"


def workspace_path(config: BuildConfig, root: str | os.PathLike[str] | None = None) -> Path:
    return Path(root or default_workspace_root()) / config.folder_name()


def is_built(path: Path) -> bool:
    return (path / DONE_FILE).exists()


def list_workspaces(root: str | os.PathLike[str] | None = None) -> list[Path]:
    r = Path(root or default_workspace_root())
    if not r.is_dir():
        return []
    return sorted((p for p in r.iterdir() if p.is_dir() and is_built(p)), key=lambda p: p.stat().st_mtime)


def index_split(
    model: Any,
    windows: TokenWindows,
    cfg: BuildConfig,
    centroids: torch.Tensor,
    center: torch.Tensor | None,
    sink: int | None,
    stage: str,
    progress: Progress,
) -> ValidationIndex:
    """One streaming pass: activations are assigned and dropped per batch, so memory stays bounded."""
    parts = []
    total = windows.n_tokens
    done = 0
    dev = model_device(model)
    centroids = centroids.to(dev)
    for batch in iter_activations(model, windows.windows, cfg.layer, cfg.site, sink):
        x = normalise(batch.acts.to(dev), center, cfg.normalisation)
        near = nearest_two(x, centroids)
        parts.append(
            TokenRecords.from_batch(near, batch.window_ids, batch.positions, batch.token_ids, batch.acts.norm(dim=1))
        )
        done += len(batch.acts)
        progress(stage, done, total)
    return ValidationIndex(TokenRecords.concat(parts), centroids.shape[0])


def build_workspace(
    config: BuildConfig,
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    model: Any = None,
    force: bool = False,
) -> Path:
    """Build (or reuse) the workspace for `config`. Output appears atomically: all or nothing."""
    target = workspace_path(config, root)
    if is_built(target) and not force:
        return target
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("load model", 0, 1)
    model = model if model is not None else load_model(config.model, dtype=config.dtype)
    check_layer_and_site(model, config.layer, config.site)
    tok = model.tokenizer
    sink = sink_token_id(tok)
    progress("load model", 1, 1)
    times["load_model_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    progress("read corpus", 0, 1)
    docs = read_corpus(config.corpus, config.text_field)
    budgets = {"train": config.train_tokens, "val": config.val_tokens, "heldout": config.heldout_tokens}
    splits = make_windows(docs, tok, config.window, budgets, config.seed)
    progress("read corpus", 1, 1)
    times["corpus_s"] = time.perf_counter() - t

    t = time.perf_counter()
    train = splits["train"]
    acts, done = [], 0
    for batch in iter_activations(model, train.windows, config.layer, config.site, sink):
        acts.append(batch.acts)
        done += len(batch.acts)
        progress("extract train activations", done, train.n_tokens)
    x = torch.cat(acts)
    del acts
    times["extract_train_s"] = time.perf_counter() - t

    t = time.perf_counter()
    norms = x.norm(dim=1)
    median = float(norms.median())
    keep = norms <= config.outlier_factor * median
    center = x[keep].mean(0) if config.normalisation == "cosine" else None
    xs = normalise(x[keep], center, config.normalisation)
    k = min(config.k, xs.shape[0])
    res = fit_kmeans(  # same code path on CPU and GPU: the fit runs where the model lives
        xs.to(model_device(model)),
        k,
        iters=config.kmeans_iters,
        seed=config.seed,
        spherical=config.normalisation == "cosine",
        progress=lambda i, n: progress("fit k-means", i, n),
    )
    res.centroids = res.centroids.cpu()
    progress("fit k-means", config.kmeans_iters, config.kmeans_iters)
    del xs
    times["kmeans_s"] = time.perf_counter() - t

    root_path = target.parent
    root_path.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root_path))
    try:
        metadata = {
            "model": config.model if config.model.startswith("embedded") else model_name(model),
            "layer": config.layer,
            "site": config.site,
            "k": k,
            "normalisation": config.normalisation,
            "normalisation_detail": (
                "subtract the training mean, unit-normalise; spherical k-means"
                if config.normalisation == "cosine"
                else "raw activations, Euclidean k-means"
            ),
            "corpus": config.corpus,
            "seed": config.seed,
            "hidden_dim": int(x.shape[1]),
            "sink_token_id": sink,
            "sink_policy": "each window is prefixed with the sink token, whose position is dropped",
            "outlier_policy": (
                f"train tokens with norm > {config.outlier_factor} x median ({median:.1f}) are excluded from the fit"
            ),
            "outliers_excluded": int((~keep).sum()),
            "train_tokens": int(x.shape[0]),
            "median_centered_norm": (
                float((x[keep] - center).norm(dim=1).median()) if center is not None else float(median)
            ),
            "inertia": res.inertia,
            "iterations": res.iterations,
            "reseeded_empty_clusters": res.reseeded,
            "activation_definition": (
                "cosine similarity to the centroid"
                if config.normalisation == "cosine"
                else "negative Euclidean distance to the centroid"
            ),
        }
        save_kmeans_centroids(tmp / "centroids.pt", res.centroids, metadata, center)
        del x
        stats: dict[str, Any] = {}
        for split in ("val", "heldout"):
            t = time.perf_counter()
            w = splits[split]
            idx = index_split(model, w, config, res.centroids, center, sink, f"index {split}", progress)
            idx.save(tmp / f"index_{split}")
            np.save(tmp / f"windows_{split}.npy", pad_windows(w.windows, config.window))
            atomic_write_text(tmp / f"sources_{split}.json", json.dumps([docs[i].source for i in w.doc_ids]))
            times[f"index_{split}_s"] = time.perf_counter() - t
            stats[f"{split}_tokens"] = len(idx)
        atomic_write_text(tmp / "config.json", json.dumps(config.to_dict(), indent=2))
        total_tokens = sum(splits[s].n_tokens for s in SPLITS)
        build = {
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "times": {k: round(v, 2) for k, v in times.items()},
            "total_s": round(time.perf_counter() - t0, 2),
            "tokens": total_tokens,
            "attribution": WIKI_ATTRIBUTION if config.corpus.startswith("embedded") else f"Corpus: {config.corpus}",
            **stats,
        }
        atomic_write_text(tmp / DONE_FILE, json.dumps(build, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass
class Workspace:
    path: Path
    config: BuildConfig
    centroids: torch.Tensor
    metadata: dict[str, Any]
    center: torch.Tensor | None
    val_index: ValidationIndex
    heldout_index: ValidationIndex
    val_windows: np.ndarray
    heldout_windows: np.ndarray
    build: dict[str, Any]

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Workspace:
        p = Path(path)
        if not is_built(p):
            raise WorkspaceError(f"{p} is not a built workspace (run `python -m autointerp build`)")
        try:
            build = json.loads((p / DONE_FILE).read_text())
            if build.get("format_version") != FORMAT_VERSION:
                raise WorkspaceError(f"{p} was built by another version; rebuild it with --force")
            config = BuildConfig.from_dict(json.loads((p / "config.json").read_text()))
            centroids, metadata = load_kmeans_centroids(p / "centroids.pt")
            center = metadata.pop("center", None)
            k = centroids.shape[0]
            return cls(
                path=p,
                config=config,
                centroids=centroids,
                metadata=metadata,
                center=center,
                val_index=ValidationIndex.load(p / "index_val", k),
                heldout_index=ValidationIndex.load(p / "index_heldout", k),
                val_windows=np.load(p / "windows_val.npy"),
                heldout_windows=np.load(p / "windows_heldout.npy"),
                build=build,
            )
        except WorkspaceError:
            raise
        except (OSError, ValueError, KeyError, CentroidFileError) as exc:
            raise WorkspaceError(f"workspace {p} is damaged ({exc}); rebuild it with --force") from exc

    @property
    def explanations_dir(self) -> Path:
        return self.path / "explanations"

    @property
    def attribution(self) -> str:
        return str(self.build.get("attribution", ""))
