"""Sentence analysis: paste text, see each token's centroid, explanation and measured confidence."""

import asyncio

import pandas as pd
import streamlit as st

from autointerp.analysis.meta import interpret
from autointerp.errors import InputError
from autointerp.explain.lifecycle import plan_for
from autointerp.explain.outcomes import failures_markdown
from autointerp.ui.browse import centroid_details, table_rows
from autointerp.ui.chips import centroid_color, confidence_text, esc, examples_html, token_chips_html, visible
from autointerp.ui.depth_view import depth_section, layer_selector

EXAMPLES = [
    "The quick brown fox jumps over the lazy dog.",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "Aristotle argued that virtue lies in a mean between two extremes.",
    "If it rains tomorrow, we will stay at home and read.",
]

interp = st.session_state["interp"]
client = st.session_state.get("llm_client")

st.title("Sentence analysis")
stack = layer_selector(interp)  # only when this workspace is one layer of a stack
example = st.selectbox("Example sentences", EXAMPLES, key="example")
text = st.text_area(
    "Text to analyse",
    value=example,
    height=100,
    key="sentence",
    help=f"Up to {interp.max_tokens} tokens are analysed; longer text is truncated with a notice.",
)
go = st.button("Analyze", type="primary", key="analyze")

# An analysis belongs to one text, workspace and explainer; any change makes it stale.
analysis_key = (
    text,
    str(interp.workspace.path if interp.workspace else id(interp)),
    st.session_state.get("explainer_choice"),
)
if go or "analysis" not in st.session_state or st.session_state.get("analysis_key") != analysis_key:
    try:
        with st.spinner("Running the model and explaining centroids…", show_time=True):
            st.session_state["analysis"] = asyncio.run(interp.analyze(text, llm_client=client))
            st.session_state["analysis_key"] = analysis_key
            st.session_state.pop("meta", None)
    except InputError as exc:
        st.session_state.pop("analysis", None)
        st.warning(f"{exc}")
        st.stop()

analysis = st.session_state["analysis"]
rows = analysis.rows
if analysis.notice:
    st.warning(analysis.notice)
report = failures_markdown(analysis.explanations.values())
if report:
    st.warning(
        "The LLM failed for some centroids. Check the explainer settings in the sidebar, or switch to the "
        "offline explainer.\n\n" + report
    )

st.caption(
    "Each chip is a token coloured by its centroid. Hover for details; dashed chips have low measured "
    "confidence, hatched chips belong to trivial clusters (single token, position or high norm)."
)
labels = [f"{r.position}: {visible(r.token_str)}" for r in rows]
if len(rows) <= 300:
    picked = st.pills("Select a token to open its centroid", labels, key="token_pick", selection_mode="single")
    selected = labels.index(picked) if picked in labels else None
else:
    pos = st.number_input("Token position to open", 0, len(rows) - 1, value=None, key="token_pos")
    selected = int(pos) if pos is not None else None
st.html(token_chips_html(rows, selected))

if selected is not None:
    r = rows[selected]
    cid = r.centroid_id
    with st.container(border=True):
        st.markdown(f"#### Centroid {cid}")
        e = analysis.explanations.get(cid)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Confidence", confidence_text(r))
        c2.metric("Activation", f"{r.activation:.3f}")
        c3.metric("Margin", f"{r.margin:.3f}", help=f"to runner-up centroid {r.runner_up_id}")
        c4.metric("Population", f"{e.info.population if e and e.info.population is not None else '—'}")
        st.html(f"<p><b>Explanation:</b> {esc(r.explanation)}</p>")
        st.caption("Nearest validation members of this centroid (strongest first):")
        st.html(examples_html(centroid_details(interp, cid).top_examples, cid))
        if st.button("Open in the centroid browser", key="open_browser"):
            st.session_state["goto_centroid"] = cid
            st.switch_page("pages/centroids.py")

st.subheader("Table")
df = pd.DataFrame(table_rows(rows))
st.dataframe(df, hide_index=True, width="stretch")
st.download_button("Download CSV", df.to_csv(index=False).encode(), "analysis.csv", "text/csv", key="dl_csv")

st.subheader("Meta-interpretation")
if "meta" not in st.session_state:
    with st.spinner("Summarising…"):
        text_client = plan_for(client, interp.explanations.explainer).text_client
        st.session_state["meta"] = asyncio.run(interpret(analysis, text_client))
st.code(st.session_state["meta"], language=None, wrap_lines=True)
legend = " ".join(
    f'<span style="background:{centroid_color(c)};padding:0 6px;border-radius:3px;margin-right:4px">{c}</span>'
    for c in sorted({r.centroid_id for r in rows})
)
st.html(f'<div style="font-size:12px">Centroids in this text: {legend}</div>')

depth_section(stack, interp, text, client)  # the depth view, Sankey and depth facts of a stack
