"""Sentence analysis: paste text, see each token's centroid, explanation and measured confidence.

The view (text, workspace, selected token) lives in the page's address, so copying it shares the view."""

import asyncio
from functools import partial

import pandas as pd
import streamlit as st

from autointerp.errors import InputError
from autointerp.explain.outcomes import failures_markdown
from autointerp.ui import links
from autointerp.ui.browse import centroid_details, table_rows
from autointerp.ui.chips import (
    centroid_color,
    confidence_text,
    esc,
    examples_html,
    segments,
    token_chips_html,
    visible,
)
from autointerp.ui.export import about_workspace, analysis_html, chips_svg
from autointerp.ui.fidelity import fidelity_line, fidelity_pair, kl_heat_row, overlay_help
from pages._shared.depth_view import depth_section, layer_selector
from pages._shared.widgets import chips, clicked_position, copy_link_button, require_app

EXAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "Aristotle argued that virtue lies in a mean between two extremes.",
    "If it rains tomorrow, we will stay at home and read.",
]

require_app("pages/analyze.py")
interp = st.session_state["interp"]
plan = st.session_state.get("llm_plan")  # the sidebar's LLM choice, resolved once in app.py
workspace_name = interp.workspace.path.name if interp.workspace else ""


def apply_link() -> None:
    """Once per session: the text and token a shared link names become this page's state."""
    if st.session_state.get("_link_applied"):
        return
    st.session_state["_link_applied"] = True
    view = links.read_sentence_view(st.query_params)
    st.session_state["_link_problems"] = list(view.problems)
    if view.text:
        st.session_state["sentence"] = view.text
        st.session_state["token_sel"] = view.token
    st.session_state["_layer"] = view.layer


def use_example() -> None:
    if st.session_state.get("example"):
        st.session_state["sentence"] = st.session_state["example"]
    st.session_state["token_sel"] = None


def text_edited() -> None:
    st.session_state["token_sel"] = None
    if st.session_state.get("sentence") not in EXAMPLES:
        st.session_state["example"] = None  # the picker no longer names the text shown


def pick_token(key: str) -> None:
    pos = clicked_position(key)
    if pos is not None:  # clicking the selected token again closes its panel
        st.session_state["token_sel"] = None if pos == st.session_state.get("token_sel") else pos


def analyse(text: str, force: bool):
    """The analysis of `text` for this workspace and explainer, recomputed when one of them changed (or asked)."""
    key = (
        text,
        str(interp.workspace.path if interp.workspace else id(interp)),
        st.session_state.get("explainer_choice"),
    )
    if force or st.session_state.get("analysis_key") != key or "analysis" not in st.session_state:
        with st.spinner("Running the model and explaining centroids…", show_time=True):
            st.session_state["analysis"] = asyncio.run(interp.analyze(text, llm_client=plan))
        st.session_state["analysis_key"] = key
        with st.spinner("Summarising…"):
            st.session_state["meta"] = asyncio.run(interp.interpret_analysis(st.session_state["analysis"], plan))
    return st.session_state["analysis"]


def token_panel(r, analysis) -> None:
    """The selected token's centroid, right below the block of chips that holds it."""
    cid = r.centroid_id
    e = analysis.explanations.get(cid)
    with st.container(border=True, key="token_panel"):
        head, close = st.columns([6, 1])
        head.html(
            f'<h4 style="margin:0"><span style="background:{centroid_color(cid)};padding:0 8px;border-radius:4px">'
            f"Centroid {cid}</span> · token {esc(visible(r.token_str))} at position {r.position}</h4>"
        )
        if close.button("Close", key="close_panel"):
            st.session_state["token_sel"] = None
            st.rerun()
        st.html(
            f"<p><b>Explanation:</b> {esc(r.explanation or '(unexplained)')} "
            f"<span style='color:#666'>(by {esc(r.explainer or 'no explainer')})</span></p>"
        )
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Confidence", confidence_text(r))
        c2.metric("Activation", f"{r.activation:.3f}")
        c3.metric("Margin", f"{r.margin:.3f}", help=f"to runner-up centroid {r.runner_up_id}")
        c4.metric("Population", f"{e.info.population if e and e.info.population is not None else '—'}")
        st.caption("Nearest validation members of this centroid (strongest first):")
        st.html(examples_html(centroid_details(interp, cid).top_examples[:6], cid))
        # A link, not a button with st.switch_page: switch_page writes the new address on this page's path before
        # it switches (one history entry) and the switch adds another, so Back landed on an in-between address.
        st.page_link(
            "pages/centroids.py",
            label="Open in the centroid browser",
            query_params={"centroid": str(cid), "workspace": workspace_name},
        )


def chip_blocks(analysis, selected: int | None) -> None:
    """The chips in blocks (sentences); the selected token's panel opens after its own block."""
    with st.container(gap=None):
        for i, block in enumerate(segments(analysis.rows)):
            key = f"chips_{i}"
            chips(token_chips_html(block, selected, block_id=f"ai-chips-{i}"), key, partial(pick_token, key))
            if selected is not None and block[0].position <= selected <= block[-1].position:
                token_panel(analysis.rows[selected], analysis)


def fidelity_overlay(analysis) -> None:
    """Per token, KL(clean || patched) of the next-token distribution when this layer's activations are replaced
    by their centroid reconstruction, and this text's own CE loss recovered (four more forward passes)."""
    ws = interp.workspace
    if ws is None or not st.toggle("Fidelity overlay", key="fidelity_overlay", help=overlay_help(ws.fidelity)):
        return
    key = (st.session_state.get("analysis_key"), "fidelity")
    if st.session_state.get("fidelity_key") != key:
        with st.spinner("Patching this layer with the codebook…", show_time=True):
            st.session_state["fidelity_doc"] = interp.sentence_fidelity([r.token_id for r in analysis.rows])
        st.session_state["fidelity_key"] = key
    doc = st.session_state["fidelity_doc"]
    st.plotly_chart(kl_heat_row([r.token_str for r in analysis.rows], doc.kl), key="fidelity_heat", width="stretch")
    c1, c2, c3 = st.columns(3)
    c1.metric("This text: CE loss recovered", f"{doc.ce_recovered:.2f}", help="(ablated - patched) / (ablated - clean)")
    ce = f"{doc.ce_clean:.2f} → {doc.ce_patched:.2f}"
    c2.metric("CE clean → patched", ce, help=f"mean-ablated: {doc.ce_ablated:.2f}")
    c3.metric("Workspace: CE recovered / FVE", fidelity_pair(ws.fidelity), help=fidelity_line(ws.fidelity))
    st.caption(
        "Darker cells: tokens after which the model's next-token prediction changes most when this layer keeps "
        "only what the centroids carry (KL in nats; hover for values)."
    )


def failure_warning(analysis) -> None:
    """The LLM's failures, said once with their detail, grouped by reason; chips and cells only say "failed"."""
    report = failures_markdown(analysis.explanations.values())
    if report:
        st.warning(
            "The LLM failed for some centroids. Check the explainer settings in the sidebar (**Test connection**), "
            "or switch to the offline explainer.\n\n" + report
        )


def toolbar(analysis, text: str, selected: int | None) -> None:
    params = links.sentence_params(text, workspace_name, selected, st.session_state.get("_layer"))
    for k in (*links.OWN_KEYS, *links.OTHER_VIEW_KEYS):  # keep the address in sync; leave others (layer) alone
        if k in params:
            st.query_params[k] = params[k]
        elif k in st.query_params:
            del st.query_params[k]
    about = about_workspace(interp.workspace.config, interp.num_centroids, workspace_name) if interp.workspace else {}
    b1, b2, b3, b4 = st.columns(4)
    with b1:
        copy_link_button()
    b2.download_button(
        "Download as HTML",
        partial(analysis_html, analysis.rows, st.session_state.get("meta", ""), about, analysis.notice),
        "analysis.html",
        "text/html",
        key="dl_html",
        on_click="ignore",
        help="One self-contained file with the chips, hover cards, table and meta-interpretation; opens offline.",
    )
    b3.download_button(
        "Download chips (SVG)",
        partial(chips_svg, analysis.rows),
        "chips.svg",
        "image/svg+xml",
        key="dl_svg",
        on_click="ignore",
        help="The coloured chips as a vector image, for slides.",
    )
    df = pd.DataFrame(table_rows(analysis.rows))
    b4.download_button(
        "Download CSV", df.to_csv(index=False).encode(), "analysis.csv", "text/csv", key="dl_csv", on_click="ignore"
    )
    if "text" not in params:
        st.caption(
            f"This text is longer than {links.MAX_LINK_TEXT:,} characters, so the link leaves it out: "
            "share it as HTML instead."
        )


st.title("Sentence analysis")
stack = layer_selector(interp)  # only when this workspace is one layer of a stack
apply_link()
for problem in st.session_state.get("_link_problems", []):
    st.warning(f"Ignored part of the link: {problem}.")
if "sentence" not in st.session_state:  # Streamlit drops a widget's state while another page shows
    st.session_state["sentence"] = st.session_state.get("_text", EXAMPLES[0])
st.selectbox(
    "Example sentences",
    EXAMPLES,
    index=None,
    placeholder="Pick an example to analyse it",
    key="example",
    on_change=use_example,
)
text = st.text_area(
    "Text to analyse",
    height=100,
    key="sentence",
    on_change=text_edited,
    help=f"Up to {interp.max_tokens} tokens are analysed; longer text is truncated with a notice.",
)
st.session_state["_text"] = text
go = st.button("Analyze", type="primary", key="analyze")  # the analysis also follows the text by itself

try:
    analysis = analyse(text, go)
except InputError as exc:
    st.session_state.pop("analysis", None)
    st.session_state.pop("analysis_key", None)
    st.warning(f"{exc}")
    st.stop()

rows = analysis.rows
selected = st.session_state.get("token_sel")
if selected is not None and not 0 <= selected < len(rows):
    st.warning(f"The link's token {selected} is past the end of this text ({len(rows)} tokens); none is selected.")
    selected = st.session_state["token_sel"] = None
if analysis.notice:
    st.warning(analysis.notice)
failure_warning(analysis)
st.caption(
    "Each chip is a token coloured by its centroid. Hover for details, click to open its centroid below its "
    "sentence; dashed chips have low measured confidence, hatched chips belong to trivial clusters."
)
chip_blocks(analysis, selected)
fidelity_overlay(analysis)
toolbar(analysis, text, selected)

st.subheader("Table")
st.dataframe(
    pd.DataFrame(table_rows(rows)),
    hide_index=True,
    width="stretch",
    column_config={  # fixed widths that fit every column in the page at 1280 px and wider
        "Pos": st.column_config.NumberColumn(width=50),
        "Token": st.column_config.TextColumn(width=90),
        "C-ID": st.column_config.NumberColumn(width=60),
        "Conf": st.column_config.NumberColumn(width=60, format="%.2f", help="measured confidence; empty: not measured"),
        "Act": st.column_config.NumberColumn(width=65, format="%.3f"),
        "Explanation": st.column_config.TextColumn(width=300),
        "Status": st.column_config.TextColumn(width=80),
        "Explainer": st.column_config.TextColumn(width=110),
    },
)

st.subheader("Meta-interpretation")
st.code(st.session_state.get("meta", ""), language=None, wrap_lines=True)
legend = " ".join(
    f'<span style="background:{centroid_color(c)};padding:0 6px;border-radius:3px;margin-right:4px">{c}</span>'
    for c in sorted({r.centroid_id for r in rows})
)
st.html(f'<div style="font-size:12px">Centroids in this text: {legend}</div>')

depth_section(stack, interp, text, plan)  # the depth view, Sankey and depth facts of a stack
