"""Patching a layer's site with a reconstruction, through nnterp/nnsight, and the reconstructions themselves.

A reconstruction maps activations (n, hidden) to what the codebook keeps of them, in the workspace's space:
cosine normalisation keeps the norm around the centre and the direction of the nearest centroid
(`centre + ||x - centre|| * unit(centroid)`); none keeps the nearest centroid itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch

from autointerp.core.activations import model_device
from autointerp.core.models import model_lock
from autointerp.core.nnsight_mount import prepare_before_trace
from autointerp.core.search import assign, normalise


class Reconstruction(Protocol):
    """What a dictionary keeps of each activation row; `assign` says which atom each row used."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...

    def assign(self, x: torch.Tensor) -> torch.Tensor: ...


class CodebookReconstruction:
    """The workspace's own reconstruction (see the module docstring)."""

    def __init__(self, centroids: torch.Tensor, center: torch.Tensor | None, normalisation: str):
        self.centroids = centroids.float()
        self.normalisation = normalisation
        # none: no stored centre, so the centroids' mean stands in for it (mean ablation, random baseline)
        self.center = center.float() if center is not None else self.centroids.mean(0)
        self.units = torch.nn.functional.normalize(self.centroids, dim=-1)

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        space_center = self.center if self.normalisation == "cosine" else None
        return assign(normalise(x.float(), space_center, self.normalisation), self.centroids)[0]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        ids = self.assign(x)
        if self.normalisation != "cosine":
            return self.centroids[ids]
        c = self.center.to(x.device)
        return c + (x - c).norm(dim=-1, keepdim=True) * self.units[ids].to(x.device)


def random_directions(k: int, hidden: int, center: torch.Tensor, seed: int) -> CodebookReconstruction:
    """The baseline: k seeded random unit directions used as a cosine codebook around the same centre."""
    g = torch.Generator().manual_seed(int(seed))
    dirs = torch.nn.functional.normalize(torch.randn(k, hidden, generator=g), dim=-1)
    return CodebookReconstruction(dirs, center, "cosine")


class MeanAblation:
    """Every patched activation replaced by the centre: the floor CE loss recovered is measured against."""

    def __init__(self, center: torch.Tensor):
        self.center = center.float()

    def assign(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], dtype=torch.long)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.center.to(x.device).expand(x.shape[0], -1)


@dataclass(frozen=True)
class Patch:
    """Replace the site at `mask` (batch, seq) positions by `reconstruction` of the activation there."""

    reconstruction: Reconstruction
    mask: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        mask = self.mask.to(x.device)
        out = x.clone()
        out[mask] = self.reconstruction(x[mask]).to(x.dtype)
        return out


def _site(model: Any, site: str) -> Any:
    if site == "layer_output":
        return model.layers_output
    if site == "mlp_output":
        return model.mlps_output
    return model.attentions_output


@dataclass
class Forward:
    # (batch, seq, vocab) in the model's dtype: at 49k vocab a float32 copy is 200 MB per 1k tokens
    logits: torch.Tensor
    site: torch.Tensor | None  # (batch, seq, hidden) float32, when asked for
    cache: Any = None  # the model's key/value cache, when asked for


@dataclass(frozen=True)
class Continuation:
    """One new token per row after a kept key/value cache: the row's token, its position, and which cached
    positions it may attend to (batch, cached length); the cache is consumed."""

    cache: Any
    position: torch.Tensor  # (batch,)
    visible: torch.Tensor  # (batch, cached length) 0/1


def forward(
    model: Any,
    ids: torch.Tensor,
    attention: torch.Tensor,
    layer: int,
    site: str,
    patch: Patch | None = None,
    read_site: bool = False,
    keep_cache: bool = False,
    after: Continuation | None = None,
) -> Forward:
    """One forward pass, the site at `layer` optionally read (before patching) and patched. `keep_cache`
    hands back the key/value cache; `after` runs `ids` (batch, 1) as the next token behind one."""
    import nnsight  # slow import, kept lazy

    saved: dict[str, Any] = {}  # defined outside the trace: nnsight only hands back outer names
    prepare_before_trace()
    dev = model_device(model)
    inputs: dict[str, Any] = {"input_ids": ids.to(dev)}
    if after is not None:
        new = torch.ones(ids.shape[0], 1, dtype=torch.long)
        inputs["attention_mask"] = torch.cat([after.visible.long(), new], dim=1).to(dev)
        inputs["position_ids"] = after.position.long()[:, None].to(dev)
        inputs["cache"] = after.cache
    elif not bool(attention.all()):
        inputs["attention_mask"] = attention.to(dev)
    options = {"use_cache": True} if keep_cache or after is not None else {"use_cache": False}
    with model_lock(model), torch.no_grad(), model.trace(inputs, **options):
        if patch is not None or read_site:
            acc = _site(model, site)
            x = acc[layer]
            x = x[0] if isinstance(x, tuple) else x
            if read_site:
                saved["site"] = nnsight.save(x.detach().clone())
            if patch is not None:
                acc[layer] = patch(x)
        saved["logits"] = nnsight.save(model.logits)
        if keep_cache:
            saved["cache"] = nnsight.save(model.output.cache)
    x = saved.get("site")
    return Forward(saved["logits"].cpu(), x.float().cpu() if x is not None else None, saved.get("cache"))
