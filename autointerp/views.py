"""Pure functions that turn analysis results into HTML and plotly figures. No Streamlit here.

Everything textual is escaped: token strings, corpus text and explanations (which may come from an LLM
or a user's edit) are treated as hostile.
"""

from __future__ import annotations

import colorsys
import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

LOW_CONFIDENCE = 0.4
TRIVIAL_FLAGS = {"single-token", "position", "high-norm", "tiny"}


def centroid_color(cid: int) -> str:
    """One stable colour per centroid on every page: golden-ratio hues, light enough for dark text."""
    h = (int(cid) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.80, 0.65)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def visible(tok: str) -> str:
    """Whitespace made visible: · for a space, ↵ for a newline, → for a tab."""
    return tok.replace(" ", "·").replace("\n", "↵").replace("\t", "→") or "∅"


CHIP_CSS = """
<style>
[data-testid="stElementContainer"]:has(.ai-chips),[data-testid="stHtml"]:has(.ai-chips){position:relative;z-index:50;overflow:visible}
.ai-chips{line-height:2.3;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:15px}
.ai-chip{position:relative;display:inline-block;padding:1px 4px;margin:1px;border-radius:4px;
  border:1px solid rgba(0,0,0,.15);cursor:default;color:#111;white-space:pre}
.ai-chip.low{border:1px dashed #555;color:#555}
.ai-chip.trivial{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.06) 0 4px,transparent 4px 8px)}
.ai-chip .ai-tip{visibility:hidden;opacity:0;position:absolute;z-index:10;left:0;top:120%;min-width:260px;
  max-width:360px;white-space:normal;background:#1f2430;color:#f5f5f5;padding:8px 10px;border-radius:6px;
  font:13px/1.4 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.3);transition:opacity .1s}
.ai-chip.flip .ai-tip{left:auto;right:0}
.ai-chip:hover .ai-tip{visibility:visible;opacity:1}
.ai-tip b{color:#ffd479}
.ai-br{display:block;height:0}
.ai-ex{font-family:ui-monospace,monospace;font-size:13px;line-height:1.6;margin:2px 0;white-space:pre-wrap}
.ai-ex mark{padding:0 2px;border-radius:3px;color:#111}
.ai-ex .act{color:#888;font-size:11px;margin-right:6px}
</style>
"""


def tooltip_html(row: dict[str, Any]) -> str:
    conf = row.get("confidence", 0.0)
    flags = row.get("flags") or []
    status = row.get("status", "")
    lines = [
        f"<b>token</b> {esc(repr(row['token_str']))} · pos {row['position']}",
        f"<b>centroid</b> {row['centroid_id']}",
        f"<b>explanation</b> {esc(row.get('explanation') or '(unexplained)')}",
        f"<b>confidence</b> {conf:.2f}"
        + (" (low: uncertain)" if conf < LOW_CONFIDENCE else "")
        + (f" · {esc(status)}" if status and status != "scored" else ""),
        f"<b>activation</b> {row['activation']:.3f} · <b>distance</b> {row['distance']:.3f}",
        f"<b>margin</b> {row['margin']:.3f} to runner-up centroid {row['runner_up_id']}",
    ]
    if flags:
        lines.append(f"<b>flags</b> {esc(', '.join(flags))}")
    return "<br>".join(lines)


def token_chips_html(rows: list[dict[str, Any]], selected: int | None = None) -> str:
    """Token heatmap: one chip per token, coloured by centroid, with a hover card of details."""
    parts = [CHIP_CSS, '<div class="ai-chips" id="ai-chips">']
    n = len(rows)
    for i, row in enumerate(rows):
        cls = ["ai-chip"]
        if row.get("confidence", 0.0) < LOW_CONFIDENCE:
            cls.append("low")
        if TRIVIAL_FLAGS & set(row.get("flags") or []):
            cls.append("trivial")
        if i > n * 0.6:
            cls.append("flip")
        style = f"background-color:{centroid_color(row['centroid_id'])}"
        if selected is not None and row["position"] == selected:
            style += ";outline:2px solid #d62728"
        parts.append(
            f'<span class="{" ".join(cls)}" style="{style}" data-pos="{row["position"]}" '
            f'data-centroid="{row["centroid_id"]}">{esc(visible(row["token_str"]))}'
            f'<span class="ai-tip" role="tooltip">{tooltip_html(row)}</span></span>'
        )
        if "\n" in row["token_str"]:
            parts.append('<span class="ai-br"></span>')
    parts.append("</div>")
    return "".join(parts)


def examples_html(examples: list[dict[str, Any]], centroid_id: int) -> str:
    color = centroid_color(centroid_id)
    out = [CHIP_CSS]
    for ex in examples:
        out.append(
            f'<div class="ai-ex"><span class="act">{ex["activation"]:.3f}</span>{esc(ex["left"])}'
            f'<mark style="background:{color}">{esc(visible(ex["token"]))}</mark>{esc(ex["right"])}</div>'
        )
    if not examples:
        out.append('<div class="ai-ex">No validation tokens belong to this centroid.</div>')
    return "".join(out)


def table_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The documented columns: Pos, Token, C-ID, Conf, Act, Explanation."""
    return [
        {
            "Pos": r["position"],
            "Token": r["token_str"],
            "C-ID": r["centroid_id"],
            "Conf": round(r["confidence"], 2),
            "Act": round(r["activation"], 3),
            "Explanation": r["explanation"],
        }
        for r in rows
    ]


def centroid_map_figure(table: list[dict[str, Any]], selected: int | None = None) -> go.Figure:
    """2-D PCA map of centroids: size by population, colour by measured confidence, grey if unexplained."""
    pop = np.array([r["population"] for r in table], dtype=float)
    top = pop.max() if len(pop) and pop.max() > 0 else 1.0
    fig = go.Figure()
    for explained in (False, True):
        part = [r for r in table if (r["confidence"] is not None) == explained]
        if not part:
            continue
        size = [6 + 26 * float(np.sqrt(r["population"] / top)) for r in part]
        marker: dict[str, Any] = {"size": size, "line": {"width": 1, "color": "#333"}}
        if explained:
            marker.update(
                color=[r["confidence"] for r in part],
                colorscale="Viridis",
                cmin=0,
                cmax=1,
                colorbar={"title": "confidence"},
            )
        else:
            marker.update(color="#c8c8c8")
        fig.add_trace(
            go.Scatter(
                x=[r["x"] for r in part],
                y=[r["y"] for r in part],
                mode="markers",
                marker=marker,
                customdata=[[r["centroid_id"], r["population"], r["confidence"] if explained else "—"] for r in part],
                text=[html.escape(r["explanation"] or "(unexplained)", quote=False) for r in part],
                hovertemplate="centroid %{customdata[0]}<br>%{text}<br>confidence %{customdata[2]}"
                "<br>population %{customdata[1]}<extra></extra>",
                name="explained" if explained else "unexplained",
            )
        )
    if selected is not None:
        r = next((r for r in table if r["centroid_id"] == selected), None)
        if r:
            fig.add_trace(
                go.Scatter(
                    x=[r["x"]],
                    y=[r["y"]],
                    mode="markers",
                    hoverinfo="skip",
                    showlegend=False,
                    marker={"size": 30, "color": "rgba(0,0,0,0)", "line": {"width": 3, "color": "#d62728"}},
                )
            )
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
