"""What each centroid does to the model's output, computed once at build time for every centroid.

- Promoted tokens (logit lens): the centroid placed in the model's space (centre + direction x the median
  centred norm, as for cosine k-means; the centroid itself without normalisation) through the final norm
  and the unembedding.
- TokenChange: the tokens whose next-token probability rises most, on average over a fixed sample of
  validation contexts, when the centroid's unit direction times alpha is added at the layer's site at the
  last position of each context. alpha = `TOKEN_CHANGE_STRENGTH` x the median ||x - centre|| of the
  training tokens (the typical activation norm around the centre), so the push is comparable across
  layers and models.

Only the last position is changed, so the clean prefix is run once and reused (its key/value cache) for
every centroid: the cost per centroid is one token per context through the model.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from autointerp.errors import InputError

TOKEN_CHANGE_STRENGTH = 1.0  # alpha in multiples of the median centred norm
TOKEN_CHANGE_CONTEXTS = 16  # validation contexts per centroid (the same for every centroid); 32 cost 48% of a build
TOP_TOKENS = 10
TOKEN_CHANGE_PER_PASS = 8  # centroids per forward: 128 rows, a ~50 MB bf16 cache (16: 125 MB more peak)
TOKEN_CHANGE_LENGTH = 32  # tokens of each context before the one steered (after the sink)


@dataclass(frozen=True)
class TokenScore:
    """One vocabulary token and a number: a probability (logit lens) or a mean probability change."""

    token: str
    token_id: int
    value: float


@dataclass
class OutputSide:
    """A centroid's output side: apart from its input explanation and never part of its confidence."""

    centroid_id: int
    promoted: list[TokenScore]  # logit lens: probability after the final norm and unembedding
    token_change: list[TokenScore]  # mean next-token probability change, largest rise first
    description: str  # offline, written from the two lists above
    alpha: float  # norm of the direction added for TokenChange
    contexts: int  # validation contexts TokenChange averaged over
    method: str = field(default="")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OutputSide:
        def scores(key: str) -> list[TokenScore]:
            return [TokenScore(str(t["token"]), int(t["token_id"]), float(t["value"])) for t in data.get(key) or []]

        return cls(
            centroid_id=int(data["centroid_id"]),
            promoted=scores("promoted"),
            token_change=scores("token_change"),
            description=str(data.get("description", "")),
            alpha=float(data.get("alpha", 0.0)),
            contexts=int(data.get("contexts", 0)),
            method=str(data.get("method", "")),
        )


@dataclass(frozen=True)
class CentroidGeometry:
    """Where the centroids sit in the model's space: they live in the k-means space (centred and unit for
    cosine), so both the logit lens and steering first map them back."""

    centroids: torch.Tensor  # (k, hidden) as fitted
    center: torch.Tensor | None
    normalisation: str
    scale: float  # median ||x - centre|| of the training tokens

    @classmethod
    def of(cls, centroids: torch.Tensor, center: torch.Tensor | None, normalisation: str, scale: Any) -> Any:
        c = center.float() if center is not None else None
        fallback = float(c.norm()) if c is not None else 1.0
        value = float(scale) if scale else fallback
        return cls(centroids.float(), c, normalisation, value if value > 0 else 1.0)

    def model_space(self, ids: torch.Tensor | None = None) -> torch.Tensor:
        """Centre + unit direction x scale for cosine (the typical member); the centroid itself for none."""
        c = self.centroids if ids is None else self.centroids[ids]
        if self.normalisation != "cosine":
            return c
        center = self.center if self.center is not None else torch.zeros_like(c[0])
        return center + c * self.scale

    def directions(self) -> torch.Tensor:
        """(k, hidden) unit directions from the centre (cosine centroids already are ones)."""
        if self.normalisation == "cosine":
            return torch.nn.functional.normalize(self.centroids, dim=-1)
        ref = self.center if self.center is not None else self.centroids.mean(0)
        return torch.nn.functional.normalize(self.centroids - ref, dim=-1)


@dataclass
class ModelParts:
    """The plain torch modules the output side needs from an nnterp model (no trace: hooks and a cache)."""

    lm: Any  # the Hugging Face causal LM (the module inside the nnterp model)
    norm: torch.nn.Module
    head: torch.nn.Module
    site: torch.nn.Module  # the module whose output is the layer's site
    tokenizer: Any

    @classmethod
    def of(cls, model: Any, layer: int, site: str) -> ModelParts:
        accessor = {"layer_output": model.layers, "mlp_output": model.mlps, "attention_output": model.attentions}
        if site not in accessor:
            raise InputError(f"unknown site {site!r}")
        return cls(
            model._module, model.ln_final._module, model.lm_head._module, accessor[site][layer]._module, model.tokenizer
        )

    @property
    def param(self) -> torch.Tensor:
        return next(self.head.parameters())


def logit_lens(norm: torch.nn.Module, head: torch.nn.Module, vectors: torch.Tensor, k: int = TOP_TOKENS) -> Any:
    """(probabilities, token ids), each (n, k): what residual vectors predict through the final norm and
    unembedding, batched (64 rows at a time keep the (rows, vocab) float32 block at 12 MB)."""
    w = next(head.parameters())
    probs, ids = [], []
    with torch.no_grad():
        for chunk in vectors.split(64):
            logits = head(norm(chunk.to(w.device, w.dtype))).float()
            top = torch.topk(torch.softmax(logits, -1), min(k, logits.shape[-1]))
            probs.append(top.values.cpu())
            ids.append(top.indices.cpu())
    return torch.cat(probs), torch.cat(ids)


def centroid_lens(
    model: Any, tokenizer: Any, geometry: CentroidGeometry, centroid_id: int, site: str, k: int = TOP_TOKENS
) -> list[TokenScore]:
    """The logit lens of one centroid as the browser shows it, from a loaded (nnsight-wrapped) model. Layer
    outputs only: MLP and attention outputs are deltas, not residual states, so the lens would mislead."""
    if site != "layer_output" or not hasattr(model, "lm_head"):
        return []
    try:
        norm, head = model.ln_final._module, model.lm_head._module
        probs, ids = logit_lens(norm, head, geometry.model_space(torch.tensor([centroid_id])), k)
        return scores(tokenizer, probs[0], ids[0])
    except (AttributeError, RuntimeError, StopIteration):
        return []


class SiteAdder:
    """A forward hook adding `delta` to the site's output: at the last position only (`last_only`), or at
    every position from `skip` on in a multi-token pass (the sink keeps its value) and at every new token."""

    def __init__(self, module: torch.nn.Module, last_only: bool = False, skip: int = 0):
        self.module, self.last_only, self.skip = module, last_only, skip
        self.delta: torch.Tensor | None = None  # (hidden,) or (batch, hidden)

    def __call__(self, module: torch.nn.Module, args: Any, output: Any) -> Any:
        if self.delta is None:
            return output
        h = output[0] if isinstance(output, tuple) else output
        d = self.delta.to(h.device, h.dtype)
        d = d if d.ndim == 1 else d[:, None, :]
        h = h.clone()
        if self.last_only:
            h[:, -1:] += d
        else:
            start = self.skip if h.shape[1] > 1 else 0
            h[:, start:] += d
        return (h, *output[1:]) if isinstance(output, tuple) else h

    @contextlib.contextmanager
    def attached(self) -> Iterator[SiteAdder]:
        handle = self.module.register_forward_hook(self)
        try:
            yield self
        finally:
            handle.remove()


def sample_contexts(
    windows: np.ndarray,
    sink: int | None,
    n: int = TOKEN_CHANGE_CONTEXTS,
    length: int = TOKEN_CHANGE_LENGTH,
    seed: int = 0,
) -> torch.Tensor:
    """(n, length [+1]) token ids: the first `length` tokens of `n` validation windows (seeded) that have
    that many, after the sink token the build prefixes; fewer rows when fewer windows are long enough."""
    windows = windows[:, :length]
    full = np.flatnonzero((windows >= 0).all(axis=1)) if windows.shape[1] == length else np.empty(0, int)
    if len(full) == 0:
        return torch.empty(0, 0, dtype=torch.long)
    rows = np.sort(np.random.default_rng(seed).choice(full, size=min(n, len(full)), replace=False))
    ids = torch.as_tensor(windows[rows].astype(np.int64))
    if sink is not None:
        ids = torch.cat([torch.full((len(rows), 1), int(sink)), ids], dim=1)
    return ids


def token_change(
    parts: ModelParts,
    contexts: torch.Tensor,
    deltas: torch.Tensor,
    k: int = TOP_TOKENS,
    progress: Callable[[int, int], None] | None = None,
    per_pass: int = TOKEN_CHANGE_PER_PASS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean probability change, token ids), each (n_deltas, k), largest rise first: each delta added at the
    site at the last position of every context, against the clean next-token distribution there.

    The prefix runs once; its cache, repeated `per_pass` times, serves `per_pass` deltas per forward of
    one token per row (one call per centroid was mostly per-call overhead)."""
    n, m = contexts.shape[0], max(1, min(per_pass, len(deltas)))
    ids = contexts.to(parts.param.device)
    adder = SiteAdder(parts.site, last_only=True)
    values, tokens = [], []
    with torch.no_grad(), adder.attached():
        cache = parts.lm(input_ids=ids[:, :-1], use_cache=True).cache
        clean = _last_probs(parts, ids[:, -1:], cache)
        cache.batch_repeat_interleave(m)  # row r is context r // m, delta r % m
        last = ids[:, -1:].repeat_interleave(m, dim=0)
        for lo in range(0, len(deltas), m):
            chunk = deltas[lo : lo + m]
            adder.delta = torch.cat([chunk, chunk.new_zeros(m - len(chunk), chunk.shape[1])]).repeat(n, 1)
            change = _last_probs(parts, last, cache).view(n, m, -1).sub_(clean[:, None]).mean(0)[: len(chunk)]
            top = torch.topk(change, min(k, clean.shape[-1]))
            values.append(top.values.cpu())
            tokens.append(top.indices.cpu())
            if progress is not None:
                progress(lo + len(chunk), len(deltas))
    return torch.cat(values), torch.cat(tokens)


def _last_probs(parts: ModelParts, last: torch.Tensor, cache: Any) -> torch.Tensor:
    """Next-token probabilities after `last` (one token per row), reusing the prefix cache, cropped back
    afterwards (a negative count removes that many tokens in every transformers version)."""
    probs = parts.lm(input_ids=last, cache=cache, use_cache=True).logits[:, -1].float()
    cache.crop(-1)
    probs -= probs.max(-1, keepdim=True).values  # softmax in place: (rows, vocab) float32 is 50 MB at 256 rows
    probs.exp_()
    return probs.div_(probs.sum(-1, keepdim=True))


def scores(tokenizer: Any, values: torch.Tensor, ids: torch.Tensor) -> list[TokenScore]:
    return [
        TokenScore(tokenizer.decode([int(i)]), int(i), round(float(v), 6))
        for v, i in zip(values, ids, strict=True)
        if math.isfinite(float(v))
    ]


def output_side_path(folder: Path, centroid_id: int) -> Path:
    return folder / f"centroid_{int(centroid_id)}.json"
