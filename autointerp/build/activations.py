"""Reading one layer's activations through nnterp, stopping the forward right after that layer."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from autointerp.build.models import check_layer_and_site
from autointerp.build.nnsight_mount import prepare_before_trace


@dataclass
class ActivationBatch:
    """Flattened real tokens of a batch of windows (sink and padding already removed)."""

    acts: torch.Tensor  # (n_tokens, hidden) float32
    window_ids: torch.Tensor  # (n_tokens,) which input window each token came from
    positions: torch.Tensor  # (n_tokens,) position inside its window, sink excluded
    token_ids: torch.Tensor  # (n_tokens,)


def model_device(model: Any) -> torch.device:
    """Where inputs must go; an undispatched nnsight model reports 'meta' until its first trace."""
    dev = torch.device(getattr(model, "device", "cpu"))
    return torch.device("cpu") if dev.type == "meta" else dev


def _site_proxy(model: Any, site: str, layer: int) -> Any:
    if site == "layer_output":
        return model.layers_output[layer]
    if site == "mlp_output":
        return model.mlps_output[layer]
    return model.attentions_output[layer]


def layer_activations(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int, site: str
) -> torch.Tensor:
    """(batch, seq, hidden) at one site; `tracer.stop()` skips every later layer and the LM head.

    `nnsight.save()` rather than `.save()`: it works whether or not nnsight mounted `.save` on every object."""
    import nnsight  # slow import, kept lazy (loading the model imports it anyway)

    check_layer_and_site(model, layer, site)
    prepare_before_trace()
    with torch.no_grad(), model.trace({"input_ids": input_ids, "attention_mask": attention_mask}) as tracer:
        out = nnsight.save(_site_proxy(model, site, layer))
        tracer.stop()
    out = out[0] if isinstance(out, tuple) else out
    return out.detach()


def iter_activations(
    model: Any,
    windows: Sequence[Sequence[int]],
    layer: int,
    site: str,
    sink_id: int | None,
    batch_tokens: int = 4096,
) -> Iterator[ActivationBatch]:
    """Yield activations of token windows in batches of about `batch_tokens`, right-padded.

    Each window is prefixed with the sink token (when there is one), whose position is dropped along
    with padding, so neither ever reaches k-means or the index.
    """
    offset = 1 if sink_id is not None else 0
    pad_id = sink_id if sink_id is not None else 0
    device = model_device(model)
    i = 0
    n = len(windows)
    while i < n:
        longest = 0
        j = i
        while j < n:
            longest_next = max(longest, len(windows[j]) + offset)
            if j > i and longest_next * (j - i + 1) > batch_tokens:
                break
            longest = longest_next
            j += 1
        batch = windows[i:j]
        ids = torch.full((len(batch), longest), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), longest), dtype=torch.long)
        for r, w in enumerate(batch):
            row = ([sink_id] if sink_id is not None else []) + list(w)
            ids[r, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[r, : len(row)] = 1
        acts = layer_activations(model, ids.to(device), mask.to(device), layer, site).float().cpu()
        keep = mask.bool().clone()
        keep[:, :offset] = False
        rows, cols = keep.nonzero(as_tuple=True)
        yield ActivationBatch(
            acts=acts[rows, cols],
            window_ids=rows + i,
            positions=cols - offset,
            token_ids=ids[rows, cols],
        )
        i = j
