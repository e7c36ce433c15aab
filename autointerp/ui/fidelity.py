"""Pure figure and text functions for fidelity: the sidebar line, the sentence's KL heat row, the depth chart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from autointerp.fidelity.records import FidelityRecord
from autointerp.tokens import visible

TICK_CHARS = 10  # a longer token (byte pieces, long words) is cut on the axis; the hover shows it whole
SOURCES = {"heldout": "held-out"}  # record sources as a reader says them (others read as they are)


def _num(x: float) -> str:
    return f"{x:.2f}" if math.isfinite(x) else "n/a"


def fidelity_line(record: FidelityRecord | None) -> str:
    """The two headline numbers, or why there are none."""
    if record is None:
        return "fidelity not measured (built before it; rebuild with --force)"
    return f"CE loss recovered {_num(record.ce_recovered)} · FVE {_num(record.fve)}"


def fidelity_pair(record: FidelityRecord | None) -> str:
    """The two numbers alone, short enough for a metric tile ("0.62 / 0.25"); "n/m" when not measured."""
    return "n/m" if record is None else f"{_num(record.ce_recovered)} / {_num(record.fve)}"


def fidelity_help(record: FidelityRecord | None) -> str:
    if record is None:
        return ""
    return (
        f"Measured on {record.tokens:,} {SOURCES.get(record.source, record.source)} tokens by replacing "
        f"layer {record.layer}'s activations with "
        f"their centroid reconstruction. CE loss recovered: 1 = the model loses nothing, 0 = as bad as replacing "
        f"them by the mean. FVE: fraction of the activations' variance the reconstruction keeps. "
        f"{record.k} random directions: {_num(record.random.ce_recovered)} / {_num(record.random.fve)}."
    )


def overlay_help(record: FidelityRecord | None) -> str:
    """The overlay toggle's help: what turning it on computes, then the workspace's own figures."""
    what = (
        "Runs this text four more times with this layer's activations replaced: by the codebook's "
        "reconstruction, by the mean (the floor), and by random directions (the baseline). Each token's cell is "
        "KL(clean || patched) of the next-token distribution after it."
    )
    return f"{what} Workspace: {fidelity_line(record)}."


def tick_label(label: str) -> str:
    return label if len(label) <= TICK_CHARS else label[: TICK_CHARS - 1] + "…"


def kl_heat_row(tokens: Sequence[str], kl: Sequence[float | None], height: int = 130) -> go.Figure:
    """One row of cells, one per token, coloured by KL(clean || patched) of the next-token distribution."""
    z = [[v if v is not None else float("nan") for v in kl]]
    labels = [visible(t) for t in tokens]
    text = [
        [f"{t}<br>KL {v:.3f} nats" if v is not None else f"{t}<br>not patched" for t, v in zip(labels, kl, strict=True)]
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(range(len(tokens))),
            text=text,
            hovertemplate="%{text}<extra></extra>",
            colorscale="Reds",
            zmin=0,
            colorbar={"title": "KL", "thickness": 10, "nticks": 3},
        )
    )
    fig.update_xaxes(tickvals=list(range(len(tokens))), ticktext=[tick_label(x) for x in labels], tickangle=-45)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return fig


def depth_fidelity_chart(records: Mapping[int, FidelityRecord | None]) -> go.Figure:
    """CE loss recovered and FVE per layer, the random baseline dotted."""
    layers = sorted(x for x, r in records.items() if r is not None)
    rs = [records[x] for x in layers]
    fig = go.Figure()
    series = [
        ("CE loss recovered", [r.ce_recovered for r in rs if r], "solid"),
        ("FVE", [r.fve for r in rs if r], "solid"),
        ("random: CE recovered", [r.random.ce_recovered for r in rs if r], "dot"),
        ("random: FVE", [r.random.fve for r in rs if r], "dot"),
    ]
    for name, ys, dash in series:
        fig.add_trace(go.Scatter(x=layers, y=ys, name=name, mode="lines+markers", line={"dash": dash}))
    fig.update_layout(
        height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="layer", yaxis_title="fraction"
    )
    return fig
