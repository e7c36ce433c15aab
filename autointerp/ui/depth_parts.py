"""Pure functions for the depth views: the tokens x layers chip grid, the Sankey of a text's tokens
flowing between centroids layer to layer, and the parent/child rows of the centroid browser. The Streamlit
sections that draw them are in `pages/_shared/depth_view.py`."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

import plotly.graph_objects as go

from autointerp.analysis.depth import DepthAnalysis
from autointerp.formatting import confidence_text, confidence_value, count_text
from autointerp.records import CentroidExplanation, SentenceRow
from autointerp.stack.lineage import Flow, Lineage
from autointerp.ui.chips import CHIP_CSS, centroid_color, chip_classes, esc, tooltip_html, visible

MOST = 8  # parents or children listed per centroid

DEPTH_CSS = """
<style>
[data-testid="stElementContainer"]:has(.ai-depth),[data-testid="stHtml"]:has(.ai-depth){position:relative;z-index:40;overflow:visible}
.ai-depth{display:grid;gap:2px 6px;align-items:center;font:13px/1.3 system-ui,sans-serif}
.ai-depth .ai-dh{font-weight:600;color:#444;padding:2px 4px}
.ai-depth .ai-dh.cur{color:#d62728}
.ai-depth .ai-dt{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:14px;white-space:pre;color:#333}
.ai-depth .ai-chip{display:block;white-space:nowrap;overflow:visible;font-size:12px;line-height:1.6}
.ai-depth .ai-chip small{color:#333;margin-left:4px}
.ai-depth .ai-chip.cur{outline:2px solid #d62728}
</style>
"""


def _short(text: str, n: int = 28) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _cell(row: SentenceRow, layer: int, col: int, n_cols: int, current: bool) -> str:
    cls = chip_classes(row)
    if col >= n_cols / 2:
        cls.append("flip")
    if current:
        cls.append("cur")
    tip = f"<b>layer</b> {layer}<br>{tooltip_html(row)}"
    return (
        f'<span class="{" ".join(cls)}" style="background-color:{centroid_color(row.centroid_id)}" '
        f'data-layer="{layer}" data-pos="{row.position}" data-centroid="{row.centroid_id}">'
        f"c{row.centroid_id}<small>{esc(_short(row.explanation or '(unexplained)'))}</small>"
        f'<span class="ai-tip" role="tooltip">{tip}</span></span>'
    )


def depth_grid_html(depth: DepthAnalysis, current_layer: int | None = None) -> str:
    """Tokens down, layers across: each cell is the token's centroid at that layer, coloured as on every
    page, with the usual hover card; the current workspace's layer is outlined."""
    n = len(depth.layers)
    parts = [CHIP_CSS, DEPTH_CSS]
    parts.append(
        f'<div class="ai-depth" id="ai-depth" style="grid-template-columns:auto repeat({n},minmax(120px,1fr))">'
    )
    parts.append('<div class="ai-dh">token</div>')
    for layer in depth.layers:
        cur = " cur" if layer == current_layer else ""
        parts.append(f'<div class="ai-dh{cur}">layer {layer}</div>')
    first = depth.per_layer[depth.layers[0]].rows
    for i, tok in enumerate(first):
        parts.append(f'<div class="ai-dt">{tok.position:>3} {esc(visible(tok.token_str))}</div>')
        for col, layer in enumerate(depth.layers):
            row = depth.per_layer[layer].rows[i]
            parts.append(_cell(row, layer, col, n, layer == current_layer))
    parts.append("</div>")
    return "".join(parts)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _nodes(depth: DepthAnalysis) -> tuple[dict[tuple[int, int], int], dict[str, list[Any]]]:
    """One node per (layer, centroid) the text uses, ordered within a layer by first token position."""
    index: dict[tuple[int, int], int] = {}
    cols: dict[str, list[Any]] = defaultdict(list)
    n = len(depth.layers)
    for li, layer in enumerate(depth.layers):
        a = depth.per_layer[layer]
        tokens: dict[int, list[str]] = defaultdict(list)
        for r in a.rows:
            tokens[r.centroid_id].append(visible(r.token_str))
        for rank, (cid, toks) in enumerate(tokens.items()):
            index[(layer, cid)] = len(index)
            e = a.explanations.get(cid)
            conf = confidence_text(e.confidence if e and e.measured else None)
            cols["label"].append(f"L{layer} c{cid}")
            cols["color"].append(centroid_color(cid))
            cols["x"].append(0.001 + 0.998 * li / max(1, n - 1))
            cols["y"].append((rank + 0.5) / len(tokens))
            what = html.escape(f"{_short(e.explanation if e else '(unexplained)', 60)} ({conf})", quote=False)
            cols["customdata"].append(f"{what}<br>tokens: {html.escape(', '.join(toks[:8]), quote=False)}")
    return index, cols


def sankey_figure(depth: DepthAnalysis, lineages: dict[tuple[int, int], Lineage] | None = None) -> go.Figure:
    """The text's tokens flowing between centroids, layer to layer; a link's width is its token count,
    and its hover adds the share of the source centroid's validation tokens that take the same path."""
    index, nodes = _nodes(depth)
    links: dict[str, list[Any]] = defaultdict(list)
    for a, b in zip(depth.layers, depth.layers[1:], strict=False):
        flows: dict[tuple[int, int], list[str]] = defaultdict(list)
        for ra, rb in zip(depth.per_layer[a].rows, depth.per_layer[b].rows, strict=True):
            flows[(ra.centroid_id, rb.centroid_id)].append(visible(ra.token_str))
        lin = (lineages or {}).get((a, b))
        for (ca, cb), toks in flows.items():
            share = next((f.share for f in lin.children(ca) if f.centroid_id == cb), 0.0) if lin else None
            corpus = f"<br>validation: {share:.0%} of L{a} c{ca}'s tokens go to L{b} c{cb}" if share is not None else ""
            links["source"].append(index[(a, ca)])
            links["target"].append(index[(b, cb)])
            links["value"].append(len(toks))
            links["color"].append(_rgba(centroid_color(ca), 0.45))
            links["customdata"].append(
                count_text(len(toks), "token") + ": " + html.escape(", ".join(toks[:10]), quote=False) + corpus
            )
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": nodes["label"],
                "color": nodes["color"],
                "x": nodes["x"],
                "y": nodes["y"],
                "pad": 12,
                "thickness": 14,
                "line": {"color": "#555", "width": 0.5},
                "customdata": nodes["customdata"],
                "hovertemplate": "%{label}<br>%{customdata}<extra></extra>",
            },
            link={
                **links,
                "hovertemplate": "%{source.label} → %{target.label}: %{customdata}<extra></extra>",
            },
        )
    )
    tallest = max(sum(1 for (layer, _) in index if layer == x) for x in depth.layers)
    fig.update_layout(height=max(320, 34 * tallest + 90), margin={"l": 10, "r": 10, "t": 30, "b": 10})
    last = max(1, len(depth.layers) - 1)
    for li, layer in enumerate(depth.layers):
        fig.add_annotation(  # the outer labels anchored inwards, so none is cut at the figure's edge
            x=li / last,
            y=1.06,
            xref="paper",
            yref="paper",
            xanchor="left" if li == 0 else "right" if li == last else "center",
            text=f"layer {layer}",
            showarrow=False,
        )
    return fig


def lineage_headings(previous: int | None, following: int | None) -> tuple[tuple[str, str], tuple[str, str]]:
    """(title, text when there are none) for the parents and for the children of a centroid, given the
    adjacent layers of the stack (None at its ends)."""
    parents = ("**Parents**", "None: this is the shallowest layer of the stack.")
    if previous is not None:
        parents = (f"**Parents** at layer {previous}: where its validation tokens were", "No validation tokens.")
    children = ("**Children**", "None: this is the deepest layer of the stack.")
    if following is not None:
        children = (f"**Children** at layer {following}: where its validation tokens go", "No validation tokens.")
    return parents, children


def flow_rows(
    flows: list[Flow], explanations: dict[int, CentroidExplanation], most: int = MOST
) -> list[dict[str, Any]]:
    """Parents or children of a centroid for a table: layer, centroid, share, tokens, explanation."""
    rows = []
    for f in flows[:most]:
        e = explanations.get(f.centroid_id)
        rows.append(
            {
                "layer": f.layer,
                "centroid": f.centroid_id,
                "share": round(f.share, 3),
                "tokens": f.count,
                "explanation": e.explanation if e else "",
                "confidence": confidence_value(e.confidence) if e and e.measured else None,
            }
        )
    return rows


def flow_text(row: dict[str, Any]) -> str:
    """ "**34%** (15 tokens) — Prepositions · 0.81"; markdown, so the explanation is escaped."""
    n = row["tokens"]
    share = f"{row['share']:.0%}" if row["share"] >= 0.01 else "<1%"
    head = f"**{share}** ({count_text(n, 'token')})"
    if not row["explanation"]:
        return f"{head} — *unexplained*"
    conf = confidence_text(row["confidence"])
    text = html.escape(row["explanation"], quote=False)
    for ch in "\\`*_{}[]<>()#+-.!|~$":
        text = text.replace(ch, "\\" + ch)
    return f"{head} — {text} · {conf}"
