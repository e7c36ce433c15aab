"""Steering: greedy continuations of a prompt with and without a centroid's direction added at the layer.

The direction is the centroid's unit direction from the centre (output_side.CentroidGeometry) times
strength x the median centred norm, added to the site's output at every prompt position but the sink
token, and at every generated token. Strength 0 adds zeros, so it equals plain greedy generation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from autointerp.core.models import model_lock
from autointerp.errors import InputError
from autointerp.fidelity.output_side import CentroidGeometry, ModelParts, SiteAdder

MAX_NEW_TOKENS = 30
MAX_PROMPT_TOKENS = 512
MAX_STRENGTH = 20.0


@dataclass(frozen=True)
class SteerRequest:
    """One Steer box input; also the key of the session cache."""

    centroid_id: int
    strength: float  # multiples of the median centred norm
    prompt: str
    max_new_tokens: int = MAX_NEW_TOKENS


@dataclass(frozen=True)
class SteerResult:
    request: SteerRequest
    plain: str  # the greedy continuation (new text only)
    steered: str  # the same with the direction added
    alpha: float  # norm of the added vector
    prompt_tokens: int


def check_request(req: SteerRequest, k: int) -> None:
    """One clear line for each bad input, before any model work."""
    if not req.prompt.strip():
        raise InputError("type a prompt to steer")
    if not 0 <= req.centroid_id < k:
        raise InputError(f"centroid id {req.centroid_id} is out of range 0..{k - 1}")
    if not math.isfinite(req.strength) or abs(req.strength) > MAX_STRENGTH:
        raise InputError(f"strength must be a number between -{MAX_STRENGTH:g} and {MAX_STRENGTH:g}")
    if not 1 <= req.max_new_tokens <= MAX_NEW_TOKENS:
        raise InputError(f"new tokens must be between 1 and {MAX_NEW_TOKENS}")


def prompt_ids(tokenizer: Any, prompt: str, sink: int | None) -> torch.Tensor:
    """(1, n) ids: the sink token the build prefixes to every window, then the prompt."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    if len(ids) > MAX_PROMPT_TOKENS:
        raise InputError(f"the prompt is {len(ids)} tokens long; steer at most {MAX_PROMPT_TOKENS}")
    return torch.tensor([([int(sink)] if sink is not None else []) + list(ids)])


def greedy(parts: ModelParts, ids: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
    """The new token ids of Hugging Face's greedy `generate`."""
    tok = parts.tokenizer
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    with torch.no_grad():
        out = parts.lm.generate(
            input_ids=ids.to(parts.param.device),
            attention_mask=torch.ones_like(ids).to(parts.param.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=pad,
        )
    return out[0, ids.shape[1] :].cpu()


def steer(
    model: Any, layer: int, site: str, geometry: CentroidGeometry, req: SteerRequest, sink: int | None
) -> SteerResult:
    """The greedy continuation of `req.prompt` without and with the centroid's direction added."""
    check_request(req, geometry.centroids.shape[0])
    parts = ModelParts.of(model, layer, site)
    ids = prompt_ids(parts.tokenizer, req.prompt, sink)
    alpha = req.strength * geometry.scale
    adder = SiteAdder(parts.site, skip=1 if sink is not None else 0)
    with model_lock(model):
        plain = greedy(parts, ids, req.max_new_tokens)
        with adder.attached():
            adder.delta = geometry.directions()[req.centroid_id] * alpha
            steered = greedy(parts, ids, req.max_new_tokens)
    decode = parts.tokenizer.decode
    return SteerResult(req, decode(plain.tolist()), decode(steered.tolist()), abs(alpha), ids.shape[1])


class SteerCache:
    """Results by request, so the same (centroid, strength, prompt) is never generated twice in a session;
    `computed` counts the generations that ran."""

    def __init__(self) -> None:
        self.results: dict[SteerRequest, SteerResult] = {}
        self.computed = 0

    def get(
        self, model: Any, layer: int, site: str, geometry: CentroidGeometry, req: SteerRequest, sink: int | None
    ) -> SteerResult:
        if req not in self.results:
            self.results[req] = steer(model, layer, site, geometry, req, sink)
            self.computed += 1
        return self.results[req]
