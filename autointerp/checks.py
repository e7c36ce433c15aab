"""Input checks that need no model and no heavy import, so the CLI refuses bad input in well under a
second instead of after loading torch, nnsight and a model (seconds), or after a build (minutes)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from autointerp.config import EMBEDDED_DIRNAME, EMBEDDED_NAMES, BuildConfig, default_workspace_root, user_cache_dir
from autointerp.errors import InputError
from autointerp.layout import is_built


def check_sentence(sentence: object) -> None:
    """Text to analyse, or one clear error."""
    if not isinstance(sentence, str):
        raise InputError(f"sentence must be text, got {type(sentence).__name__}")
    if not sentence.strip():
        raise InputError("the sentence is empty: type some text to analyse")


def declared_layers(model: str) -> int | None:
    """The model's layer count from its config.json when that is on disk, without loading any weights;
    None when the config is not at hand (the model load checks the layer then)."""
    if model in EMBEDDED_NAMES:
        path: Path | None = user_cache_dir() / "models" / EMBEDDED_DIRNAME / "config.json"
    elif os.path.isdir(model):
        path = Path(model) / "config.json"
    else:
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(model, "config.json")
        except ValueError:  # not a hub id either: the model load says what is wrong
            found = None
        path = Path(found) if isinstance(found, str) else None
    try:
        cfg = json.loads(path.read_text()) if path is not None else {}
    except (OSError, ValueError):
        return None
    n = cfg.get("num_hidden_layers", cfg.get("n_layer")) if isinstance(cfg, dict) else None
    return n if isinstance(n, int) and n > 0 else None


def check_model_layers(model: str, layers: list[int]) -> None:
    """Refuse a model folder that does not exist, and a layer the model lacks when its config says how
    many it has."""
    if model not in EMBEDDED_NAMES and model.startswith(("/", ".", "~")) and not os.path.isdir(model):
        raise InputError(f"model folder {model!r} does not exist")
    n = declared_layers(model)
    bad = [x for x in layers if n is not None and not 0 <= x < n]
    if n is not None and bad:
        raise InputError(f"layer {bad[0]} is out of range: this model has layers 0..{n - 1}")


def built_layers(config: BuildConfig, root: str | os.PathLike[str] | None = None) -> list[int]:
    """The layers whose workspace is built for `config` (its other fields) under `root`."""
    folder = Path(root or default_workspace_root())
    n = declared_layers(config.model) or 64
    return [x for x in range(n) if is_built(folder / config.with_(layer=x).folder_name())]


def check_layers_built(config: BuildConfig, layers: list[int], root: str | os.PathLike[str] | None = None) -> None:
    """`analyze --layers` without `--build`: a layer that is not built would start a build of minutes."""
    built = built_layers(config, root)
    missing = [x for x in layers if x not in built]
    if missing:
        have = ", ".join(map(str, built)) or "none"
        raise InputError(
            f"layer(s) {', '.join(map(str, missing))} are not built for these flags (built layers: {have}). "
            "Pick --layers from those, or add --build to build the missing layers (minutes)"
        )
