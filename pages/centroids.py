"""Centroid browser: a map of all centroids, search and filters, and one centroid's full evidence."""

import asyncio

import pandas as pd
import streamlit as st

from autointerp.explain.outcomes import failures_markdown
from autointerp.records import Status
from autointerp.ui.browse import centroid_details, explanation_table, neighbour_rows, score_rows
from autointerp.ui.chips import centroid_color, esc, examples_html
from autointerp.ui.depth_view import lineage_section
from autointerp.ui.figures import bar_figure, centroid_map_figure, distance_histogram

interp = st.session_state["interp"]
client = st.session_state.get("llm_client")
st.title("Centroid browser")

explanations = {e.centroid_id: e for e in interp.cache.all()}
table = explanation_table(interp, explanations)
todo = [r.centroid_id for r in table if r.status == "unexplained"]
n_missing = len(todo)
if n_missing:
    c1, c2 = st.columns([3, 1])
    c1.info(f"{n_missing} of {len(table)} centroids have no explanation yet; they show as grey on the map.")
    if c2.button(f"Explain all {n_missing}", key="explain_all"):
        bar = st.progress(0.0, text="explaining")
        counts = asyncio.run(
            interp.explanations.explain_all(
                todo, llm_client=client, on_done=lambda i, n: bar.progress(i / n, text=f"explained {i} / {n}")
            )
        )
        st.session_state["explain_all_report"] = failures_markdown(counts.problems)
        st.rerun()
report = st.session_state.pop("explain_all_report", None)
if report:
    st.warning("The LLM failed for some centroids.\n\n" + report)

with st.expander("Search and filter", expanded=True):
    f1, f2, f3 = st.columns([2, 2, 2])
    query = f1.text_input("Search explanations", key="c_query")
    lo, hi = f2.slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="c_conf")
    all_flags = sorted({f.strip() for r in table for f in r.flags.split(",") if f.strip()})
    flags = f3.multiselect("Flags", all_flags, key="c_flags")
view = [
    r
    for r in table
    if (not query or query.lower() in r.explanation.lower())
    and (r.confidence is None and lo == 0.0 or r.confidence is not None and lo <= r.confidence <= hi)
    and (not flags or any(f in r.flags for f in flags))
]
if not view:
    st.warning("No centroid matches these filters.")
    st.stop()

ids = [r.centroid_id for r in view]
if "goto_centroid" in st.session_state:  # sent by another page
    st.session_state["c_select"] = st.session_state.pop("goto_centroid")
if st.session_state.get("c_select") not in ids:
    st.session_state["c_select"] = ids[0]
event = st.plotly_chart(
    centroid_map_figure(view, st.session_state["c_select"]),
    key="centroid_map",
    on_select="rerun",
    selection_mode="points",
    width="stretch",
)
points = event.get("selection", {}).get("points", []) if event else []
pick = int(points[0]["customdata"][0]) if points and points[0].get("customdata") else None
if pick is not None and pick != st.session_state.get("_last_map_pick") and pick in ids:
    st.session_state["c_select"] = pick
st.session_state["_last_map_pick"] = pick
selected = st.selectbox(
    "Centroid",
    ids,
    key="c_select",
    format_func=lambda c: f"{c}: {explanations[c].explanation if c in explanations else '—'}",
)
st.session_state["selected_centroid"] = selected

d = centroid_details(interp, selected)
e = explanations.get(selected)
st.html(
    f'<h3 style="margin:0"><span style="background:{centroid_color(selected)};padding:0 8px;border-radius:4px">'
    f"Centroid {selected}</span> {esc(e.explanation if e else '(unexplained)')}</h3>"
)
m1, m2, m3, m4 = st.columns(4)
m1.metric("Confidence", f"{e.confidence:.2f}" if e and e.measured else ("not measured" if e else "—"))
m2.metric("Population (validation)", f"{d.population:,}")
m3.metric("Status", str(e.status) if e else "unexplained")
m4.metric("Flags", ", ".join(e.info.flags) if e and e.info.flags else "none")
if st.button("Regenerate explanation" if e else "Generate explanation", key="regen"):
    with st.spinner("Explaining and scoring on held-out tokens…", show_time=True):
        new = asyncio.run(interp.get_or_generate_explanation(selected, llm_client=client, force_regenerate=True))
    if new.status is Status.FAILED:
        st.error(f"The explanation failed and was not saved: {new.info.error}")
    else:
        st.rerun()

lineage_section(interp, selected)  # parents and children, when this workspace is one layer of a stack

if e and e.info.score:
    with st.expander("Score breakdown (held-out, balanced accuracy; chance = 0.5)", expanded=True):
        st.dataframe(pd.DataFrame(score_rows(e)), hide_index=True, width="stretch")
        st.caption("confidence = clip(2 × (balanced accuracy − 0.5), 0, 1)")

left, right = st.columns(2)
with left:
    st.markdown("**Top examples** (nearest members)")
    st.html(examples_html(d.top_examples, selected))
    st.markdown("**Further out** (sampled from the outer half of the cluster)")
    st.html(examples_html(d.outer_examples, selected))
    st.caption("Examples are the nearest *members* of this cluster, not the nearest tokens overall.")
with right:
    if len(d.distances):
        st.plotly_chart(distance_histogram(d.distances, selected), key="hist", width="stretch")
    if d.top_tokens:
        st.plotly_chart(
            bar_figure(d.top_tokens, "Most frequent tokens", centroid_color(selected)), key="toks", width="stretch"
        )
    if d.next_tokens:
        st.plotly_chart(bar_figure(d.next_tokens, "Tokens that follow"), key="next", width="stretch")
    if d.logit_lens:
        st.plotly_chart(
            bar_figure(d.logit_lens, "Logit lens: what the centroid predicts", "#9467bd"), key="lens", width="stretch"
        )
    st.markdown("**Nearest other centroids**")
    st.dataframe(pd.DataFrame(neighbour_rows(d, explanations)), hide_index=True, width="stretch")
st.caption(interp.workspace.attribution if interp.workspace else "")
