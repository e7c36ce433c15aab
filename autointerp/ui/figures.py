"""Pure functions that build plotly figures for the pages."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

from autointerp.formatting import confidence_text
from autointerp.ui.browse import CentroidSummary
from autointerp.ui.chips import centroid_color, visible

# For figures that are read, not explored (bars, histogram, Sankey): plotly's toolbar sits over the top right of
# a figure, where it covered the Sankey's last "layer N" label and a long title such as the logit lens's.
READ_ONLY = {"displayModeBar": False}


def centroid_map_figure(table: list[CentroidSummary], selected: int | None = None) -> go.Figure:
    """2-D PCA map of centroids: size by population, colour by measured confidence, grey if unexplained
    or not measured."""
    pop = np.array([r.population for r in table], dtype=float)
    top = pop.max() if len(pop) and pop.max() > 0 else 1.0
    fig = go.Figure()
    for explained in (False, True):
        part = [r for r in table if (r.confidence is not None) == explained]
        if not part:
            continue
        size = [6 + 26 * float(np.sqrt(r.population / top)) for r in part]
        marker: dict[str, Any] = {"size": size, "line": {"width": 1, "color": "#333"}}
        if explained:
            marker.update(
                color=[r.confidence for r in part],
                colorscale="Viridis",
                cmin=0,
                cmax=1,
                colorbar={"title": "confidence"},
            )
        else:
            marker.update(color="#c8c8c8")
        fig.add_trace(
            go.Scatter(
                x=[r.x for r in part],
                y=[r.y for r in part],
                mode="markers",
                marker=marker,
                customdata=[
                    [r.centroid_id, r.population, confidence_text(r.confidence if explained else None, "—")]
                    for r in part
                ],
                text=[html.escape(r.explanation or "(unexplained)", quote=False) for r in part],
                hovertemplate="centroid %{customdata[0]}<br>%{text}<br>confidence %{customdata[2]}"
                "<br>population %{customdata[1]}<extra></extra>",
                name="explained" if explained else "unexplained",
                # a click selects a point; plotly would then fade every other one, so keep all opaque
                selected={"marker": {"opacity": 1}},
                unselected={"marker": {"opacity": 1}},
            )
        )
    _add_ring(fig, table, selected)
    fig.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        showlegend=False,
        xaxis_title="PC 1",
        yaxis_title="PC 2",
        dragmode="pan",
        clickmode="event+select",
    )
    return fig


def _add_ring(fig: go.Figure, table: list[CentroidSummary], selected: int | None) -> None:
    """A red ring around the selected centroid, drawn as the last trace."""
    r = next((r for r in table if r.centroid_id == selected), None)
    if r is None:
        return
    fig.add_trace(
        go.Scatter(
            x=[r.x],
            y=[r.y],
            mode="markers",
            hoverinfo="skip",
            showlegend=False,
            marker={"size": 30, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#d62728"}},
        )
    )


def distance_histogram(distances: np.ndarray, centroid_id: int) -> go.Figure:
    fig = go.Figure(go.Histogram(x=distances, nbinsx=30, marker_color=centroid_color(centroid_id)))
    fig.update_layout(
        height=240,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title="Member distances",
        xaxis_title="distance to centroid",
        yaxis_title="tokens",
        bargap=0.05,
    )
    return fig


def bar_figure(items: list[tuple[str, float]], title: str, color: str = "#4c78a8") -> go.Figure:
    labels = [html.escape(visible(t), quote=False) for t, _ in items][::-1]
    fig = go.Figure(go.Bar(x=[v for _, v in items][::-1], y=labels, orientation="h", marker_color=color))
    fig.update_layout(height=max(160, 26 * len(items) + 60), margin={"l": 10, "r": 10, "t": 30, "b": 10}, title=title)
    return fig
