"""The one place that says which model, layer, site, k and corpus a workspace is built from."""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from autointerp.errors import InputError

EMBEDDED_MODEL = "embedded:SmolLM2-135M-Instruct"
EMBEDDED_CORPUS = "embedded:enwiki"
EMBEDDED_NAMES = (EMBEDDED_MODEL, "embedded", "SmolLM2-135M-Instruct")
EMBEDDED_DIRNAME = "SmolLM2-135M-Instruct-bf16"  # its bf16 conversion, under user_cache_dir() / "models"
SITES = ("layer_output", "mlp_output", "attention_output")
NORMALISATIONS = ("cosine", "none")


def user_cache_dir() -> Path:
    """Converted models and other per-user artifacts; never inside the git tree."""
    root = os.environ.get("AUTOINTERP_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "autointerp"
    )
    return Path(root)


def default_workspace_root() -> Path:
    return Path(os.environ.get("AUTOINTERP_WORKSPACES", "workspaces"))


def _f(default: Any, help: str, **extra: Any) -> Any:
    """A config field that also describes its command-line flag (see cli.add_config_flags)."""
    return field(default=default, metadata={"help": help, **extra})


@dataclass(frozen=True)
class BuildConfig:
    """Everything that changes a workspace's contents. Its hash names the workspace folder."""

    model: str = _f(EMBEDDED_MODEL, f"hub name, local folder, or {EMBEDDED_MODEL}")
    layer: int = _f(12, "layer whose activations are clustered")
    site: str = _f("layer_output", "residual stream (layer_output), MLP or attention output", choices=SITES)
    k: int = _f(256, "number of centroids")
    corpus: str = _f(EMBEDDED_CORPUS, f".txt, .jsonl or .csv file, or {EMBEDDED_CORPUS}")
    text_field: str = _f("text", "JSONL field or CSV column holding the text")
    normalisation: str = _f("cosine", "cosine: centre, unit-normalise, spherical k-means", choices=NORMALISATIONS)
    seed: int = _f(0, "seed of the split, k-means and sampling")
    window: int = _f(64, "tokens per context window")
    train_tokens: int = _f(65_536, "tokens the k-means is fitted on (256 per centroid at k=256, faiss's sample size)")
    val_tokens: int = _f(40_000, "tokens explanations are drawn from")
    heldout_tokens: int = _f(25_000, "tokens explanations are scored on")
    kmeans_iters: int = _f(25, "Lloyd iterations", aliases=("--iters",))
    outlier_factor: float = _f(8.0, "train tokens with norm above this many times the median are left out of the fit")
    dtype: str = _f("auto", "model dtype: auto (bfloat16), bfloat16, float16 or float32")
    pos_tags: bool = _f(True, "spaCy part-of-speech and entity tags for explanations, when spaCy is installed")
    concepts: bool = _f(True, "WordNet concepts of each word, when the WordNet data is installed (needs pos_tags)")

    def __post_init__(self) -> None:
        if self.site not in SITES:
            raise InputError(f"unknown site {self.site!r}; choose one of {', '.join(SITES)}")
        if self.normalisation not in NORMALISATIONS:
            raise InputError(f"unknown normalisation {self.normalisation!r}; choose one of {NORMALISATIONS}")
        if self.k < 2:
            raise InputError(f"k must be at least 2, got {self.k}")
        if self.layer < 0:
            raise InputError(f"layer must be >= 0, got {self.layer}")
        if self.window < 4:
            raise InputError(f"window must be at least 4 tokens, got {self.window}")
        for name in ("train_tokens", "val_tokens", "heldout_tokens"):
            if getattr(self, name) < self.window:
                raise InputError(f"{name} must be at least one window ({self.window} tokens)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BuildConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def with_(self, **changes: Any) -> BuildConfig:
        return replace(self, **changes)

    def fingerprint(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    def folder_name(self) -> str:
        model = re.sub(r"[^A-Za-z0-9.-]+", "-", self.model.split("/")[-1].split(":")[-1]).strip("-")
        return f"{model}-L{self.layer}-{self.site}-k{self.k}-{self.fingerprint()}"


BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class RunOptions:
    """How a build runs, as opposed to what it builds (`BuildConfig`, which names the workspace): none of
    these changes the result. Checked once, here, where the CLI or the dashboard makes it."""

    force: bool = False  # rebuild even if the workspace (or a stack's layer) is already on disk
    backend: str = "local"  # "local": this process; "ray": shard across Ray workers (requirements-ray.txt)
    workers: int = 2  # Ray workers, with backend "ray"
    explain: bool = True  # after the build, explain every centroid offline (prepare_workspace/prepare_stack)
    model: Any = field(default=None, compare=False, repr=False)  # a loaded model to reuse; None loads config.model

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise InputError(f"unknown build backend {self.backend!r}; use {' or '.join(BACKENDS)}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise InputError(f"workers must be a whole number >= 1, got {self.workers!r}")

    def with_(self, **changes: Any) -> RunOptions:
        return replace(self, **changes)


def check_layers(layers: Iterable[int]) -> list[int]:
    """Sorted, distinct, non-negative layers: what a stack is built from (the model checks the range)."""
    out = sorted(int(x) for x in layers)
    if not out:
        raise InputError("the list of layers is empty: give at least one, e.g. --layers 3,6,9,12")
    repeated = sorted({x for x in out if out.count(x) > 1})
    if repeated:
        raise InputError(f"each layer may be listed once; repeated: {', '.join(map(str, repeated))}")
    if out[0] < 0:
        raise InputError(f"layers must be >= 0, got {out[0]}")
    return out


def parse_layers(text: str) -> list[int]:
    """`--layers 12,3,6` -> [3, 6, 12]."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        return check_layers(int(p) for p in parts if p)
    except ValueError as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"--layers takes comma-separated layer numbers such as 3,6,9,12, got {text!r}") from None
