"""Centroid browser: a map of all centroids, search and filters, and one centroid's full evidence.

The selected centroid lives in `st.session_state["c_select"]` and in the address (`?centroid=N`); the map, the
selectbox and links from other pages all write it, and everything on the page reads it."""

import asyncio
import zlib

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from autointerp.errors import AutoInterpError
from autointerp.explain.outcomes import failures_markdown
from autointerp.fidelity.steer import MAX_NEW_TOKENS, MAX_STRENGTH, SteerCache, SteerRequest
from autointerp.formatting import confidence_text
from autointerp.records import Status
from autointerp.ui import links
from autointerp.ui.browse import (
    centroid_details,
    explanation_table,
    matches_search,
    neighbour_rows,
    regenerate_message,
    score_breakdown,
    steer_text,
    token_change_bars,
)
from autointerp.ui.chips import centroid_color, esc, examples_html
from autointerp.ui.figures import READ_ONLY, bar_figure, centroid_map_figure, distance_histogram
from pages._shared.depth_view import lineage_section
from pages._shared.widgets import require_app

require_app("pages/centroids.py")
interp = st.session_state["interp"]
plan = st.session_state.get("llm_plan")  # the sidebar's LLM choice, resolved once in app.py


def navigated() -> bool:
    """Whether this run came from a navigation (a link or another page entering this one, a reload, Back or
    Forward), whose address names what to show. A rerun of this page carries the address the browser had when
    it was sent, which can be older than what the previous run wrote: every map click is followed by a rerun
    that clears the chart's selection, often sent before the click's run has written the new address."""
    ctx = get_script_run_ctx()
    history = bool(ctx is not None and getattr(ctx, "is_history_navigation", False))
    return history or st.session_state.get("_c_visit") != st.session_state.get("_page_visit")


def follow_links(ids: list[int]) -> None:
    """The centroid to show: a widget's pick this run, else the address when this run is a navigation, else the
    one shown before; then the address is written.

    Read as a link on every run, a stale address put the page back one click, and the address stayed behind (3 of
    8 map clicks in the issue). Widget picks are weighed in the same way: the map's pick wins over the picker's,
    since one user action changes one widget, and a picker value the browser held from before a cut-short run
    is stale too."""
    linked, problem = links.read_centroid(st.query_params, interp.num_centroids)
    if problem:
        st.warning(f"Ignored part of the link: {problem}.")
    picks = st.session_state.pop("_c_picks", {})
    if picks:
        st.session_state["c_select"] = picks.get("map", picks.get("picker"))
    elif linked is not None and navigated():
        st.session_state["c_select"] = linked
    st.session_state["_c_visit"] = st.session_state.get("_page_visit")  # this visit's link is followed (once)
    if "goto_centroid" in st.session_state:  # sent by another page in this session
        st.session_state["c_select"] = int(st.session_state.pop("goto_centroid"))
    if st.session_state.get("c_select") not in ids:
        st.session_state["c_select"] = ids[0]
    address = {"centroid": str(st.session_state["c_select"])}
    if interp.workspace is not None:  # an id means something only in its workspace
        address["workspace"] = interp.workspace.path.name
    st.query_params.update(address)  # one write: one history entry at most


def pick(widget: str, cid: int) -> None:
    """A widget's callback: what it picked, for `follow_links` to weigh against the address and the other widget."""
    st.session_state.setdefault("_c_picks", {})[widget] = int(cid)


def map_clicked() -> None:
    """Runs before the rerun, so the ring is drawn where the user clicked, never one click behind."""
    event = st.session_state.get("centroid_map") or {}
    points = (event.get("selection") or {}).get("points") or []
    if points and points[0].get("customdata"):
        pick("map", int(points[0]["customdata"][0]))


def explain_missing(todo: list[int], total: int) -> None:
    c1, c2 = st.columns([3, 1])
    c1.info(f"{len(todo)} of {total} centroids have no explanation yet; they show as grey on the map.")
    if c2.button(f"Explain all {len(todo)}", key="explain_all"):
        bar = st.progress(0.0, text="explaining")
        counts = asyncio.run(
            interp.explain_all(
                todo, llm_client=plan, on_done=lambda i, n: bar.progress(i / n, text=f"explained {i} / {n}")
            )
        )
        note = f"Explained {counts.generated} centroid(s)" + (f"; {counts.failed} failed" if counts.failed else "")
        st.session_state["_flash"] = (not counts.failed, note + ".")
        st.session_state["explain_all_report"] = failures_markdown(counts.problems)
        st.rerun()


def filtered(table):
    ss = st.session_state
    active = bool(ss.get("c_query")) or tuple(ss.get("c_conf", (0.0, 1.0))) != (0.0, 1.0) or bool(ss.get("c_flags"))
    label = "Search and filter" + (" (a filter is on)" if active else "")  # a filter must never hide unseen
    with st.expander(label, expanded=active):
        f1, f2, f3 = st.columns([2, 2, 2])
        query = f1.text_input("Search explanations", key="c_query")
        lo, hi = f2.slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="c_conf")
        all_flags = sorted({f.strip() for r in table for f in r.flags.split(",") if f.strip()})
        flags = f3.multiselect("Flags", all_flags, key="c_flags")
    return [
        r
        for r in table
        if matches_search(r, query)
        and (r.confidence is None and lo == 0.0 or r.confidence is not None and lo <= r.confidence <= hi)
        and (not flags or any(f in r.flags for f in flags))
    ]


def picker(ids: list[int], explanations) -> int:
    """The selectbox. Its key follows the labels, so a label never stays stale after explanations change."""
    labels = [f"{c}: {explanations[c].explanation if c in explanations else '—'}" for c in ids]
    key = f"c_select_{zlib.crc32(chr(0).join(labels).encode()):08x}"
    st.session_state[key] = st.session_state["c_select"]
    label_of = dict(zip(ids, labels, strict=True))

    def chosen() -> None:
        pick("picker", st.session_state[key])

    return st.selectbox("Centroid", ids, key=key, format_func=label_of.__getitem__, on_change=chosen)


def summary(selected: int, e, d) -> None:
    """What the selected centroid is: header, measured confidence, regenerate, score and nearest members."""
    st.html(
        f'<h3 style="margin:0"><span style="background:{centroid_color(selected)};padding:0 8px;border-radius:4px">'
        f"Centroid {selected}</span> {esc(e.explanation if e else '(unexplained)')}</h3>"
    )
    about = [f"status: {e.status}", f"by {e.info.explainer or 'unknown'}"] if e else ["status: unexplained"]
    if e and e.info.human_edited:
        about.append("human-edited")
    if e and e.info.accepted:
        about.append(f"accepted {e.info.accepted[:10]}")
    if e and e.info.flags:
        about.append("flags: " + ", ".join(e.info.flags))
    st.caption(" · ".join(about))
    m1, m2 = st.columns(2)
    m1.metric("Confidence", confidence_text(e.confidence if e and e.measured else None, "not measured" if e else "—"))
    m2.metric("Population", f"{d.population:,}", help="validation tokens in this cluster")
    if st.button("Regenerate explanation" if e else "Generate explanation", key="regen"):
        with st.spinner("Explaining and scoring on held-out tokens…", show_time=True):
            new = asyncio.run(interp.get_or_generate_explanation(selected, llm_client=plan, force_regenerate=True))
        if new.status is Status.FAILED:
            st.error(f"The explanation failed and was not saved: {new.info.error}")
        else:
            st.session_state["_flash"] = regenerate_message(e, new)
            st.rerun()
    if e and e.info.score:
        with st.expander("Score breakdown (held-out balanced accuracy; chance = 0.5)"):
            st.dataframe(pd.DataFrame(score_breakdown(e)), hide_index=True, width="stretch")
            st.caption("confidence = clip(2 × (balanced accuracy − 0.5), 0, 1)")
    st.markdown("**Top examples** (nearest members)")
    st.html(examples_html(d.top_examples, selected))


def evidence(selected: int, d, explanations) -> None:
    """The rest of the evidence, under the map."""
    left, right = st.columns(2)
    with left:
        st.markdown("**Further out** (sampled from the outer half of the cluster)")
        st.html(examples_html(d.outer_examples, selected))
        st.caption("Examples are the nearest *members* of this cluster, not the nearest tokens overall.")
        st.markdown("**Nearest other centroids**")
        st.dataframe(pd.DataFrame(neighbour_rows(d, explanations)), hide_index=True, width="stretch")
    with right:
        if len(d.distances):
            st.plotly_chart(distance_histogram(d.distances, selected), key="hist", width="stretch", config=READ_ONLY)
        if d.top_tokens:
            color = centroid_color(selected)
            st.plotly_chart(
                bar_figure(d.top_tokens, "Most frequent tokens", color), key="toks", width="stretch", config=READ_ONLY
            )
        if d.next_tokens:
            st.plotly_chart(
                bar_figure(d.next_tokens, "Tokens that follow"), key="next", width="stretch", config=READ_ONLY
            )


def output_side(d) -> None:
    """What the centroid does to the output, beside (never inside) its input explanation and confidence."""
    st.markdown("**Output side** (what the centroid makes the model predict; not part of the confidence)")
    side = d.output
    if side is not None:
        st.html(f'<p class="ai-output-description"><em>{esc(side.description)}</em></p>')  # tokens are data
    else:
        st.caption("No stored output side: this workspace was built before it (rebuild with --force).")
    left, right = st.columns(2)
    if d.logit_lens:
        lens = bar_figure(d.logit_lens, "Promoted tokens (logit lens, probability)", "#9467bd")
        left.plotly_chart(lens, key="lens", width="stretch", config=READ_ONLY)
    if side is not None and side.token_change:
        bars = bar_figure(token_change_bars(side), "TokenChange (mean rise, points)", "#8c564b")
        right.plotly_chart(bars, key="token_change", width="stretch", config=READ_ONLY)
    if side is not None:
        with st.expander("How the output side was measured"):
            st.caption(side.method)


def steer_box(selected: int) -> None:
    """Pick a centroid and a strength, type a prompt: greedy continuations without and with its direction."""
    st.subheader("Steer")
    with st.form("steer_form"):
        c1, c2, c3 = st.columns([1, 2, 1])
        cid = c1.number_input("Centroid", 0, interp.num_centroids - 1, value=selected, key=f"steer_c_{selected}")
        strength = c2.slider("Strength (x the typical activation norm)", -MAX_STRENGTH, MAX_STRENGTH, 2.0, 0.5)
        new = c3.number_input("New tokens", 1, MAX_NEW_TOKENS, 20)
        prompt = st.text_area("Prompt", key="steer_prompt", max_chars=20_000, placeholder="The weather today is")
        go = st.form_submit_button("Steer")
    caches = st.session_state.setdefault("steer_caches", {})  # one per loaded workspace: ids mean nothing across
    cache = caches.setdefault(id(interp), SteerCache())
    if go:
        try:
            with st.spinner("Generating twice (greedy)…"):
                st.session_state["steer_last"] = steer_text(
                    interp, cache, SteerRequest(int(cid), strength, prompt, new)
                )
        except (AutoInterpError, RuntimeError) as exc:
            st.error(f"Cannot steer: {exc}")
            return
    res = st.session_state.get("steer_last")
    if res is None or res.request not in cache.results:
        return
    req = res.request
    st.caption(f"Centroid {req.centroid_id}, strength {req.strength:g} (a vector of norm {res.alpha:.1f})")
    plain, steered = st.columns(2)
    plain.markdown("**Without the direction**")
    plain.code(req.prompt + res.plain, language=None, wrap_lines=True)
    steered.markdown("**With the direction**")
    steered.code(req.prompt + res.steered, language=None, wrap_lines=True)


st.title("Centroid browser")
if flash := st.session_state.pop("_flash", None):
    (st.success if flash[0] else st.info)(flash[1])
if report := st.session_state.pop("explain_all_report", None):
    st.warning("The LLM failed for some centroids.\n\n" + report)
explanations = {e.centroid_id: e for e in interp.cache.all()}
table = explanation_table(interp, explanations)
todo = [r.centroid_id for r in table if r.status == "unexplained"]
if todo:
    explain_missing(todo, len(table))
view = filtered(table)
if not view:
    st.warning("No centroid matches these filters.")
    st.stop()
ids = [r.centroid_id for r in view]
follow_links(ids)

map_col, detail_col = st.columns([5, 4], gap="medium")
with map_col:
    st.plotly_chart(
        centroid_map_figure(view, st.session_state["c_select"]),
        key="centroid_map",
        on_select=map_clicked,
        selection_mode="points",
        width="stretch",
    )
    st.caption("Size: population · colour: measured confidence (grey: none) · click a point to select it.")
with detail_col:
    selected = picker(ids, explanations)
    st.session_state["selected_centroid"] = selected
    details = centroid_details(interp, selected)
    summary(selected, explanations.get(selected), details)
    output_side(details)
lineage_section(interp, selected)  # parents and children, when this workspace is one layer of a stack
evidence(selected, details, explanations)
steer_box(selected)
st.caption(interp.workspace.attribution if interp.workspace else "")
