"""Cache review: every cached explanation, editable in place, with accept, regenerate, delete, export, import."""

import asyncio

import pandas as pd
import streamlit as st

from autointerp.errors import InputError
from autointerp.explain.cache_io import FORMATS, export_records, import_records
from autointerp.formatting import confidence_text
from autointerp.records import Status
from autointerp.ui.browse import CACHE_COLUMNS, cache_rows, regenerate_message
from pages._shared.widgets import require_app

require_app("pages/cache.py")
interp = st.session_state["interp"]


def saved_note(rec) -> str:
    if rec.measured:
        return f"measured confidence {confidence_text(rec.confidence)}"
    return f"not measured ({rec.status}: {rec.info.score.detail if rec.info.score else ''})"


plan = st.session_state.get("llm_plan")  # the sidebar's LLM choice, resolved once in app.py
st.title("Cache review")
if flash := st.session_state.pop("_cache_flash", None):
    (st.success if flash[0] else st.info)(flash[1])
if st.session_state.pop("_refill_edit_fields", False):  # after an import: a field keeps what was typed
    for key in [k for k in st.session_state if str(k).startswith("edit_text_")]:
        rec = interp.cache.get(int(str(key).rsplit("_", 1)[1]))
        st.session_state[key] = rec.explanation if rec else ""
deleted = st.session_state.get("_undo_delete")
if deleted is not None and st.button(f"Undo: restore centroid {deleted.centroid_id}'s explanation", key="undo_delete"):
    interp.cache.set(st.session_state.pop("_undo_delete"))
    st.session_state["_cache_flash"] = (True, f"Centroid {deleted.centroid_id}: explanation restored.")
    st.rerun()
st.caption(
    f"Explanations are stored as one JSON file per centroid in `{interp.cache.cache_dir}`; every write is "
    "atomic. Edits are marked human-edited and rescored on held-out tokens."
)

records = interp.cache.all()
if interp.cache.corrupt:
    st.warning("Skipped corrupt cache files for centroids " + ", ".join(map(str, sorted(interp.cache.corrupt))))
if not records:
    st.info(
        "The cache is empty. Analyse a sentence or open the centroid browser to generate explanations, "
        "or import a file below."
    )

df = pd.DataFrame(cache_rows(interp, records), columns=CACHE_COLUMNS)

if len(df):
    f1, f2, f3, f4 = st.columns([2, 2, 2, 1])
    query = f1.text_input("Search", key="q_text")
    conf = f2.slider("Confidence", 0.0, 1.0, (0.0, 1.0), 0.05, key="q_conf")
    methods = f3.multiselect("Method", sorted(df["method"].unique()), key="q_method")
    stale_only = f4.checkbox("Stale only", key="q_stale")
    in_range = df["confidence"].between(*conf)
    view = df[in_range | df["confidence"].isna()] if conf == (0.0, 1.0) else df[in_range]
    if query:
        view = view[view["explanation"].str.contains(query, case=False, regex=False)]
    if methods:
        view = view[view["method"].isin(methods)]
    if stale_only:
        view = view[view["stale"]]

    st.markdown("Edit the **explanation** column in place, then save.")
    edited = st.data_editor(
        view,
        key="editor",
        hide_index=True,
        width="stretch",
        disabled=[c for c in view.columns if c != "explanation"],
        column_order=[c for c in view.columns if c != "timestamp"],  # shown for one centroid below instead
        column_config={  # fixed widths that fit every column in the page at 1280 px and wider
            "centroid_id": st.column_config.NumberColumn("id", width=45),
            "explanation": st.column_config.TextColumn("explanation", width=300),
            "confidence": st.column_config.ProgressColumn(
                "confidence", min_value=0.0, max_value=1.0, format="%.2f", width=100
            ),
            "method": st.column_config.TextColumn("explainer", width=110),
            "status": st.column_config.TextColumn("status", width=80),
            "stale": st.column_config.CheckboxColumn("stale", width=50),
            "human_edited": st.column_config.CheckboxColumn("edited", width=55),
            "accepted": st.column_config.CheckboxColumn("accepted", width=70),
        },
    )
    changed = [
        (int(cid), str(new))
        for cid, new, old in zip(edited["centroid_id"], edited["explanation"], view["explanation"], strict=True)
        if new != old
    ]
    if st.button(f"Save {len(changed)} edit(s)", disabled=not changed, type="primary", key="save_edits"):
        try:
            for cid, text in changed:
                rec = asyncio.run(interp.edit_explanation(cid, text, llm_client=plan))
                st.toast(f"Centroid {cid}: saved, {saved_note(rec)}")
        except InputError as exc:
            st.error(str(exc))
        else:
            st.rerun()

    st.markdown("**Act on one centroid**")
    a1, a2, a3, a4 = st.columns([2, 1, 1, 1])
    target = a1.selectbox("Centroid", list(view["centroid_id"]), key="act_id")
    if a2.button("Accept", key="accept") and target is not None:
        interp.accept_explanation(int(target))
        st.session_state["_cache_flash"] = (True, f"Centroid {target}: explanation accepted.")
        st.rerun()
    if a3.button("Regenerate", key="regenerate") and target is not None:
        old = interp.cache.get(int(target))
        with st.spinner("Regenerating…"):
            new = asyncio.run(interp.get_or_generate_explanation(int(target), llm_client=plan, force_regenerate=True))
        if new.status is Status.FAILED:
            st.error(f"Regeneration failed and nothing was saved: {new.info.error}")
        else:
            st.session_state["_cache_flash"] = regenerate_message(old, new)
            st.session_state.pop(f"edit_text_{target}", None)  # the field shows the new text
            st.rerun()
    if a4.button("Delete", key="delete") and target is not None:
        st.session_state["_undo_delete"] = interp.cache.get(int(target))  # kept in this session for Undo
        interp.cache.delete(int(target))
        st.session_state["_cache_flash"] = (True, f"Centroid {target}: explanation deleted.")
        st.rerun()
    if target is not None:
        current = interp.cache.get(int(target))
        if current is not None:
            st.caption(f"Saved {current.timestamp.replace('T', ' ')} by {current.info.explainer or 'unknown'}.")
        field = f"edit_text_{target}"
        if field not in st.session_state:  # the state, not `value=`: an import rewrites the state (above), and a
            st.session_state[field] = current.explanation if current else ""  # widget given both logs a warning
        new_text = st.text_input("Edit this explanation", key=field)
        if st.button("Save edit", key="save_one"):
            try:
                rec = asyncio.run(interp.edit_explanation(int(target), new_text, llm_client=plan))
            except InputError as exc:
                st.error(str(exc))
            else:
                st.toast(f"Centroid {target}: saved, {saved_note(rec)}")
                st.rerun()

st.divider()
e1, e2 = st.columns(2)
with e1:
    st.markdown("**Export**")
    fmt = st.radio("Format", FORMATS, horizontal=True, key="exp_fmt")
    st.download_button(
        f"Download {fmt.upper()}",
        export_records(records, fmt).encode(),
        f"explanations.{fmt}",
        key="export",
        disabled=not records,
    )
with e2:
    st.markdown("**Import** (validated in full before anything is written)")
    up = st.file_uploader("JSON, JSONL or CSV", type=list(FORMATS), key="import_file")
    if up is not None and st.button("Import", key="do_import"):
        fmt_in = up.name.rsplit(".", 1)[-1].lower()
        try:
            recs = import_records(up.getvalue().decode("utf-8", errors="strict"), fmt_in, interp.num_centroids)
        except (InputError, UnicodeDecodeError) as exc:
            st.error(f"Nothing was imported: {exc}")
        else:
            report = asyncio.run(interp.import_explanations(recs, llm_client=plan))  # new text is rescored
            st.session_state["_refill_edit_fields"] = True
            st.session_state["_cache_flash"] = (True, report.describe())
            st.rerun()  # the table and the edit field above were drawn before the import
