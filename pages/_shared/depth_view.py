"""Streamlit sections for a workspace that belongs to a stack: the sentence page's layer selector and
depth view, and the centroid browser's parents and children. Each page calls one function; nothing is
drawn when the workspace is not part of a stack. What they draw is built by `autointerp.ui.depth_parts`."""

from __future__ import annotations

import asyncio
from typing import Any

import streamlit as st

from autointerp.analysis.depth import DepthAnalysis, depth_text, layer_explanations
from autointerp.errors import AutoInterpError
from autointerp.explain.llm_choice import ExplainPlan
from autointerp.stack.folder import Stack, stacks_containing
from autointerp.stack.lineage import Flow
from autointerp.ui.depth_parts import (
    MOST,
    depth_grid_html,
    flow_rows,
    flow_text,
    lineage_headings,
    sankey_figure,
)
from autointerp.ui.fidelity import depth_fidelity_chart
from autointerp.ui.figures import READ_ONLY


@st.cache_resource(show_spinner=False, max_entries=4)
def _open_stack(path: str, stamp: float) -> Stack:
    return Stack.open(path)


@st.cache_resource(show_spinner=False, max_entries=2)
def _stack_interp(path: str, stamp: float, model_id: int, _model: Any) -> Any:
    from autointerp.stack_interp import StackInterp  # the facade: only the UI's entry points load it

    return StackInterp.open(path, model=_model)


def stack_of(interp: Any) -> Stack | None:
    """The stack this workspace belongs to (the one with most layers), or None."""
    ws = getattr(interp, "workspace", None)
    if ws is None:
        return None
    found = stacks_containing(ws.path)
    if not found:
        return None
    try:
        return _open_stack(str(found[0]), (found[0] / "stack.json").stat().st_mtime)
    except AutoInterpError as exc:
        st.warning(f"This workspace belongs to a stack that cannot be opened: {exc}")
        return None


def _open_layer(name: str, page: str, centroid: int | None = None) -> None:
    """Switch the whole dashboard to another layer's workspace (and optionally one of its centroids).

    app.py applies `goto_workspace` to its sidebar choice before drawing it; switching page reruns the
    whole app, where a widget's own rerun may rerun only the page and keep the old workspace."""
    st.session_state["goto_workspace"] = name
    params = {"workspace": name}  # the address names the view, as every page keeps it
    if centroid is not None:
        st.session_state["goto_centroid"] = centroid
        params["centroid"] = str(centroid)
    st.switch_page(page, query_params=params)


def layer_selector(interp: Any) -> Stack | None:
    """A layer switch at the top of the sentence page; choosing a layer opens its workspace."""
    stack = stack_of(interp)
    if stack is None:
        return None
    layer = stack.layer_of(interp.workspace.path)
    # show the workspace's layer when it changed, and after a click on the selected layer cleared it
    if (
        st.session_state.get("depth_layer_of") != interp.workspace.path.name
        or st.session_state.get("depth_layer") is None
    ):
        st.session_state["depth_layer_of"] = interp.workspace.path.name
        st.session_state["depth_layer"] = layer
    chosen = st.segmented_control(
        "Layer",
        stack.layers,
        key="depth_layer",
        format_func=lambda x: f"layer {x}",
        help="This workspace is one layer of a stack; pick another layer to analyse the text there.",
    )
    target = stack.workspaces[chosen].path.name if chosen is not None and chosen != layer else None
    if target is not None and st.session_state.get("goto_workspace") != target:  # asked once, never in a loop
        _open_layer(target, "pages/analyze.py")
    if stack.notice:
        st.warning(stack.notice)
    return stack


def _depth_analysis(stack: Stack, interp: Any, text: str, plan: ExplainPlan | None) -> DepthAnalysis:
    stamp = (stack.path / "stack.json").stat().st_mtime
    key = (text, str(stack.path), st.session_state.get("explainer_choice"))
    if st.session_state.get("depth_key") != key:
        si = _stack_interp(str(stack.path), stamp, id(interp.model), interp.model)
        with st.spinner("Reading every layer in one forward pass…", show_time=True):
            st.session_state["depth"] = asyncio.run(si.analyze(text, llm_client=plan))
        st.session_state["depth_key"] = key
    return st.session_state["depth"]


def depth_section(stack: Stack | None, interp: Any, text: str, plan: ExplainPlan | None) -> None:
    """The depth view: the chip grid (tokens x layers), the Sankey and the measured depth facts."""
    if stack is None:
        return
    try:
        depth = _depth_analysis(stack, interp, text, plan)
    except AutoInterpError as exc:
        st.warning(f"{exc}")
        return
    st.subheader("Across layers")
    st.caption(
        "Each row is a token, each column a layer of this stack: the chip is the token's centroid there "
        "(same colours as above; hover for details). The current layer is outlined."
    )
    st.html(depth_grid_html(depth, stack.layer_of(interp.workspace.path)))
    st.caption(
        "How this text's tokens move between centroids from layer to layer (link width = tokens; hover a "
        "link for the share of the centroid's validation tokens that take the same path)."
    )
    st.plotly_chart(sankey_figure(depth, stack.lineages), key="depth_sankey", width="stretch", config=READ_ONLY)
    st.code(depth_text(depth), language=None, wrap_lines=True)
    fidelity = {layer: ws.fidelity for layer, ws in stack.workspaces.items()}
    if any(r is not None for r in fidelity.values()):
        st.caption(
            "How much of the model each layer's codebook carries (held-out text, measured at build time): CE loss "
            "recovered and FVE per layer, k random directions dotted."
        )
        st.plotly_chart(depth_fidelity_chart(fidelity), key="depth_fidelity", width="stretch")


def _flows_table(stack: Stack, flows: list[Flow], title: str, empty: str, key: str) -> None:
    st.markdown(title)
    if not flows:
        st.caption(empty)
        return
    layer = flows[0].layer
    rows = flow_rows(flows, layer_explanations(stack, layer, [f.centroid_id for f in flows[:MOST]]), MOST)
    name = stack.workspaces[layer].path.name
    for r in rows:
        c1, c2 = st.columns([1, 4])
        label = f"L{r['layer']} · c{r['centroid']}"
        if c1.button(label, key=f"{key}_{r['centroid']}", help=f"Open centroid {r['centroid']} at layer {r['layer']}"):
            _open_layer(name, "pages/centroids.py", r["centroid"])
        c2.markdown(flow_text(r))
    if len(flows) > len(rows):
        st.caption(f"…and {len(flows) - len(rows)} more, with {sum(f.count for f in flows[len(rows) :]):,} tokens.")


def lineage_section(interp: Any, centroid_id: int) -> None:
    """The centroid's parents (previous layer) and children (next layer), each a button to open it."""
    stack = stack_of(interp)
    if stack is None:
        return
    layer = stack.layer_of(interp.workspace.path)
    if layer is None:
        return
    prev, nxt = stack.previous(layer), stack.next(layer)
    with st.expander(f"Across layers: parents and children of centroid {centroid_id}", expanded=True):
        if stack.notice:
            st.warning(stack.notice)
        (p_title, p_empty), (c_title, c_empty) = lineage_headings(prev, nxt)
        left, right = st.columns(2)
        with left:
            _flows_table(stack, stack.parents(layer, centroid_id), p_title, p_empty, "lin_parent")
        with right:
            _flows_table(stack, stack.children(layer, centroid_id), c_title, c_empty, "lin_child")
        st.caption(
            "Shares count the validation tokens of this centroid, paired token by token with their "
            "centroid at the adjacent layer of the stack."
        )
