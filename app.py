"""Dashboard shell: navigation first, then the workspace, the explainer and the pages."""

from __future__ import annotations

import json
import os

import streamlit as st

st.set_page_config(page_title="k-means autointerp", page_icon="🔬", layout="wide")
nav = st.navigation(
    [
        st.Page("pages/analyze.py", title="Sentence analysis", icon=":material/text_fields:", default=True),
        st.Page("pages/centroids.py", title="Centroid browser", icon=":material/scatter_plot:"),
        st.Page("pages/cache.py", title="Cache review", icon=":material/edit_note:"),
    ]
)

from autointerp.build.nnsight_mount import disable_pymount  # noqa: E402
from autointerp.config import BuildConfig, default_workspace_root  # noqa: E402
from autointerp.errors import AutoInterpError  # noqa: E402
from autointerp.explain.clients.factory import ClientSettings, Provider, make_client  # noqa: E402
from autointerp.workspace import build_workspace, list_workspaces  # noqa: E402

disable_pymount()  # the dashboard never needs nnsight's `.save` mount, and async HTTP breaks under it


def default_config() -> BuildConfig:
    """The embedded default; AUTOINTERP_DEFAULT_BUILD (JSON) overrides fields, e.g. for tests or demos."""
    overrides = json.loads(os.environ.get("AUTOINTERP_DEFAULT_BUILD", "{}") or "{}")
    return BuildConfig().with_(**overrides)


@st.cache_resource(show_spinner=False, max_entries=3)
def load_interp(path: str):
    from autointerp import KMeansAutoInterp

    return KMeansAutoInterp.from_workspace(path)


def first_launch() -> None:
    st.title("🔬 k-means autointerp")
    st.info(
        "No workspace yet. Building the default one: the embedded SmolLM2-135M-Instruct on English "
        "Wikipedia text. This takes a few minutes once; later launches load it in seconds."
    )
    with st.status("Building the default workspace…", expanded=True) as status:
        bar = st.progress(0.0, text="starting")

        def progress(stage: str, done: int, total: int) -> None:
            bar.progress(min(1.0, done / max(total, 1)), text=f"{stage}: {done:,} / {total:,}")

        try:
            build_workspace(default_config(), progress=progress)
        except AutoInterpError as exc:
            status.update(label="The build failed", state="error")
            st.error(f"{exc}\n\nFix the cause and reload the page.")
            st.stop()
        status.update(label="Workspace ready", state="complete")
    st.rerun()


PROVIDERS = {
    "Offline (no LLM)": Provider.OFFLINE,
    "Local model (label choice)": Provider.LOCAL,
    "OpenAI-compatible": Provider.OPENAI,
    "Anthropic": Provider.ANTHROPIC,
}


def sidebar_explainer(interp) -> object | None:
    """The LLM client for this session. Keys come from the environment or this field, never from disk."""
    choice = st.sidebar.selectbox(
        "Explainer",
        list(PROVIDERS),
        key="explainer_choice",
        help="Offline explanations are exact rules scored on held-out tokens. LLM explanations are free text "
        "scored by detection through the same LLM.",
    )
    provider = PROVIDERS[choice]
    settings = ClientSettings(provider, retries=1, timeout=30)
    if provider is Provider.LOCAL:
        st.sidebar.caption(
            "The workspace's own model ranks candidate labels by calibrated log-probability; "
            "the chosen label is still scored exactly on held-out tokens."
        )
    elif provider is Provider.OPENAI:
        base = st.sidebar.text_input("Base URL", "http://127.0.0.1:8000/v1", key="llm_base_url")
        model = st.sidebar.text_input("Model", "gpt-4o-mini", key="llm_model")
        key = st.sidebar.text_input("API key (or OPENAI_API_KEY)", type="password", key="llm_key")
        settings = ClientSettings(provider, model, base, key, retries=1, timeout=30)
    elif provider is Provider.ANTHROPIC:
        model = st.sidebar.text_input("Model", "claude-sonnet-4-5", key="llm_model_a")
        key = st.sidebar.text_input("API key (or ANTHROPIC_API_KEY)", type="password", key="llm_key_a")
        settings = ClientSettings(provider, model, api_key=key, retries=1, timeout=30)
    if provider in (Provider.OPENAI, Provider.ANTHROPIC):
        return session_client(settings)
    return make_client(settings, interp.model)


def session_client(settings: ClientSettings) -> object | None:
    """The same HTTP client while its settings stay the same, so what it learnt about the server this
    session (which structured-output mode it accepts) is kept across reruns."""
    held = st.session_state.get("llm_client_held")
    if held is None or held[0] != settings:
        held = (settings, make_client(settings))
        st.session_state["llm_client_held"] = held
    return held[1]


spaces = list_workspaces()
if not spaces:
    first_launch()
labels = {p.name: p for p in spaces}
default_name = BuildConfig().folder_name() if BuildConfig().folder_name() in labels else spaces[-1].name
goto = st.session_state.pop("goto_workspace", None)  # a page asked for another workspace (a stack's layer)
if goto in labels:
    st.session_state["workspace"] = goto
name = st.sidebar.selectbox("Workspace", list(labels), index=list(labels).index(default_name), key="workspace")
try:
    with st.spinner("Loading the model and workspace…", show_time=True):
        interp = load_interp(str(labels[name]))
except AutoInterpError as exc:
    st.error(f"This workspace cannot be opened: {exc}")
    st.stop()

ws = interp.workspace
cfg = ws.config
st.sidebar.markdown(
    f"**Model** `{cfg.model.split(':')[-1]}`  \n**Layer** {cfg.layer} · **site** `{cfg.site}`  \n"
    f"**k** {interp.num_centroids} · **norm** {cfg.normalisation}  \n**Corpus** `{cfg.corpus.split(':')[-1]}`"
)
st.session_state["interp"] = interp
st.session_state["llm_client"] = sidebar_explainer(interp)
st.sidebar.caption(ws.attribution)
st.sidebar.caption(f"Semantic concepts: {ws.metadata.get('concepts', 'none (built before concept features)')}")
st.sidebar.caption(f"Workspaces folder: `{default_workspace_root()}`")

try:
    nav.run()
except AutoInterpError as exc:
    st.error(f"{exc}")
except Exception as exc:  # no traceback reaches the user; the log keeps it
    import logging

    logging.getLogger("autointerp.app").exception("page failed")
    st.error(
        f"Something went wrong ({type(exc).__name__}: {exc}). Try again, or reload the page; "
        "the details are in the server log."
    )
