"""Dashboard shell: navigation first, then the workspace, the explainer and the pages."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import streamlit as st

# A bundled SVG, not an emoji: emoji need a font many machines lack, and material icons come from a CDN.
st.set_page_config(
    page_title="k-means autointerp", page_icon=Path(__file__).parent / "assets" / "icon.svg", layout="wide"
)
nav = st.navigation(
    [
        st.Page("pages/analyze.py", title="Sentence analysis", icon=":material/text_fields:", default=True),
        st.Page("pages/centroids.py", title="Centroid browser", icon=":material/scatter_plot:"),
        st.Page("pages/cache.py", title="Cache review", icon=":material/edit_note:"),
    ]
)

from autointerp.config import BuildConfig, RunOptions, default_workspace_root  # noqa: E402
from autointerp.errors import AutoInterpError  # noqa: E402
from autointerp.explain.clients.factory import HTTP_CLIENTS, ClientSettings, Provider, make_client  # noqa: E402
from autointerp.explain.llm_choice import ExplainPlan, make_plan  # noqa: E402
from autointerp.prepare import disable_pymount, use_compiled_loops  # noqa: E402
from autointerp.ui.browse import workspace_labels  # noqa: E402
from autointerp.ui.chips import esc  # noqa: E402
from autointerp.ui.eta import duration_text, time_left  # noqa: E402
from autointerp.ui.fidelity import fidelity_help, fidelity_line  # noqa: E402
from autointerp.workspace import list_workspaces  # noqa: E402
from pages._shared.widgets import follow_deep_link, linked_workspace  # noqa: E402

disable_pymount()  # the dashboard never needs nnsight's `.save` mount, and async HTTP breaks under it
# The server builds the default workspace in-process and then serves: numba's ~150 MB would stay resident
# for the whole session, to save about a second of the default build's k-means (bench/dashboard.py).
use_compiled_loops(False)


def default_config() -> BuildConfig:
    """The embedded default; AUTOINTERP_DEFAULT_BUILD (JSON) overrides fields, e.g. for tests or demos."""
    overrides = json.loads(os.environ.get("AUTOINTERP_DEFAULT_BUILD", "{}") or "{}")
    return BuildConfig().with_(**overrides)


@st.cache_resource(show_spinner=False, max_entries=3)  # as many as load_interp keeps: none is loaded twice
def shared_model(name: str, dtype: str):
    """One loaded model per (name, dtype), shared by every workspace built on it and by the first launch's
    build: loading it again after that build took 2-3 s, and each workspace held its own copy. (No progress
    in here: Streamlit replays the elements a cached function drew, and the build's log is gone by then.)"""
    from autointerp.prepare import load_model

    t = time.perf_counter()
    model = load_model(name, dtype=dtype)
    # The server log says each load, so that "once per server process, whatever the sessions" can be checked.
    print(f"loaded the model {name} ({dtype}) in {time.perf_counter() - t:.1f} s", flush=True)
    return model


@st.cache_resource(show_spinner=False, max_entries=3)
def load_interp(path: str):
    from autointerp import KMeansAutoInterp
    from autointerp.workspace import Workspace

    cfg = Workspace.open(path).config  # 10 ms, and it names what is wrong with a broken folder
    return KMeansAutoInterp.from_workspace(path, model=shared_model(cfg.model, cfg.dtype))


class StageLog:
    """The first launch's progress: one line per finished stage with its time, and a bar for the current one."""

    def __init__(self) -> None:
        self.lines = st.empty()
        self.bar = st.progress(0.0, text="starting")
        self.seconds: dict[str, float] = {}  # stage -> time spent, in first-seen order
        self.stage = ""
        self.t0 = self.t = self.shown = time.perf_counter()

    def _close_stage(self) -> None:
        now = time.perf_counter()
        if self.stage:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self.t
            self.lines.markdown("\n".join(f"- {s}: {t:.0f} s" for s, t in self.seconds.items()))
            print(f"first launch: {self.stage}: {now - self.t:.0f} s", flush=True)  # server log (docker logs)
        self.t = now

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if stage != self.stage:
            self._close_stage()
            self.stage = stage
        elif done < total and now - self.shown < 1.0:  # each update repaints the browser on the same cores
            return
        self.shown = now
        left = time_left(done, total, now - self.t)
        eta = f" · {duration_text(left)} left in this stage (measured)" if left is not None and done < total else ""
        self.bar.progress(min(1.0, done / max(total, 1)), text=f"{stage}: {done:,} / {total:,}{eta}")

    def finish(self) -> None:
        self._close_stage()
        self.stage = ""


def first_launch() -> None:
    st.title("k-means autointerp")
    st.info(
        "No workspace yet. Building the default one: the embedded SmolLM2-135M-Instruct on English "
        "Wikipedia text, with every centroid explained offline. This happens once (a few minutes on 2 cores, more "
        "while other work shares them); each stage below shows its time left, measured from its own progress. "
        "Later launches load the workspace in seconds."
    )
    from autointerp.prepare import prepare_workspace, release_memory, resolve_model_path

    # The browser usually shares the build's cores: its animations (spinners, bar transitions) cost about
    # 15% of a core for the whole build (measured in headless Chromium), so they stop until it is done; the
    # stage lines and the bar still move every second.
    st.html("<style>*, *::before, *::after { animation: none !important; transition: none !important; }</style>")
    with st.status("Building the default workspace…", expanded=True) as status:
        log = StageLog()
        try:
            config = default_config()
            resolve_model_path(config.model, progress=log)  # the embedded model's one-time conversion, with progress
            log("load model", 0, 1)
            prepare_workspace(config, progress=log, options=RunOptions(model=shared_model(config.model, config.dtype)))
            log.finish()
        except Exception as exc:  # no traceback reaches the user; the log keeps one for what we did not foresee
            if not isinstance(exc, AutoInterpError):
                logging.getLogger("autointerp.app").exception("first launch failed")
            status.update(label="The build failed", state="error")
            st.error(f"{exc}\n\nFix the cause and reload the page.")
            st.stop()
        status.update(label=f"Workspace ready ({time.perf_counter() - log.t0:.0f} s)", state="complete")
    release_memory()  # the build's activations are garbage now: steady use starts lean
    st.rerun()


PROVIDERS = {
    "Offline (no LLM)": Provider.OFFLINE,
    "Local model (label choice)": Provider.LOCAL,
    "OpenAI-compatible": Provider.OPENAI,
    "Anthropic": Provider.ANTHROPIC,
}


def sidebar_explainer(interp) -> ExplainPlan:
    """The LLM choice for this session, resolved once into the plan every page passes on. Keys come from the
    environment or this field, never from disk."""
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
        default = HTTP_CLIENTS[provider]  # the library's defaults, as the CLI uses them
        base = st.sidebar.text_input("Base URL", default.default_base_url, key="llm_base_url")
        model = st.sidebar.text_input("Model", default.default_model, key="llm_model")
        key = st.sidebar.text_input("API key (or OPENAI_API_KEY)", type="password", key="llm_key")
        settings = ClientSettings(provider, model, base, key, retries=1, timeout=30)
    elif provider is Provider.ANTHROPIC:
        model = st.sidebar.text_input("Model", HTTP_CLIENTS[provider].default_model, key="llm_model_a")
        key = st.sidebar.text_input("API key (or ANTHROPIC_API_KEY)", type="password", key="llm_key_a")
        settings = ClientSettings(provider, model, api_key=key, retries=1, timeout=30)
    if provider in HTTP_CLIENTS:
        test_connection(settings)
        return session_plan(settings)
    return make_plan(settings, interp.model)


def session_plan(settings: ClientSettings) -> ExplainPlan:
    """The same HTTP client (in its plan) while its settings stay the same, so what it learnt about the server
    this session (which structured-output mode it accepts) is kept across reruns."""
    held = st.session_state.get("llm_client_held")
    if held is None or held[0] != settings:
        held = (settings, make_plan(settings))
        st.session_state["llm_client_held"] = held
    return held[1]


def test_connection(settings: ClientSettings) -> None:
    """One short request with these settings; the answer or the failure shows right under the button."""
    from dataclasses import replace

    from autointerp.explain.clients.check import check_connection

    if st.sidebar.button("Test connection", key="llm_test"):
        with st.spinner("Testing the LLM connection: one short request…"):
            result = asyncio.run(check_connection(make_client(replace(settings, retries=0, timeout=10))))
        st.session_state["llm_test_result"] = (settings, result)
    last = st.session_state.get("llm_test_result")
    if last and last[0] == settings:  # a result for other settings would mislead
        (st.sidebar.success if last[1].ok else st.sidebar.error)(last[1].message)


# Counts the visits to pages, so that a page can tell a run that entered it (a link, another page, a reload) from
# a rerun of itself, whose address may be older than what its previous run wrote (pages/centroids.py).
if st.session_state.get("_page_now") != nav.url_path:
    st.session_state["_page_now"] = nav.url_path
    st.session_state["_page_visit"] = st.session_state.get("_page_visit", 0) + 1
spaces = list_workspaces()
if not spaces:
    first_launch()
labels = {p.name: p for p in spaces}
default_name = BuildConfig().folder_name() if BuildConfig().folder_name() in labels else spaces[-1].name
goto = st.session_state.pop("goto_workspace", None)  # a page asked for another workspace (a stack's layer)
linked = linked_workspace()
if "workspace" not in st.session_state and linked and linked not in labels:  # a shared link, once per session
    st.warning(f"The link names workspace `{linked}`, which is not built here; showing `{default_name}`.")
if goto in labels:
    st.session_state["workspace"] = goto
elif st.session_state.get("workspace") not in labels:  # first run, or the widget's state was dropped
    kept = st.session_state.get("workspace_choice")  # a plain key: it survives page switches
    st.session_state["workspace"] = next(w for w in (kept, linked, default_name) if w in labels)
# Sorted names and no index: a widget's identity includes its options and default, and the mtime order
# of the workspaces changes whenever one gains an explanations folder, which used to reset the choice.
name = st.sidebar.selectbox(
    "Workspace",
    sorted(labels),
    key="workspace",
    format_func=workspace_labels(sorted(labels)).__getitem__,
    help="Built workspaces in the workspaces folder (below). Build more with `python -m autointerp build`.",
)
st.session_state["workspace_choice"] = name
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
st.sidebar.markdown(f"**Fidelity** {fidelity_line(ws.fidelity)}", help=fidelity_help(ws.fidelity) or None)
st.session_state["interp"] = interp
st.session_state["llm_plan"] = sidebar_explainer(interp)
follow_deep_link()
st.sidebar.caption(ws.attribution)
st.sidebar.caption(f"Semantic concepts: {ws.info.concepts or 'none (built before concept features)'}")
st.sidebar.html(
    f'<div style="font-size:12px;color:#666;overflow-wrap:anywhere">Workspace <code>{esc(name)}</code> in '
    f"<code>{esc(default_workspace_root())}</code></div>"
)

try:
    nav.run()
except AutoInterpError as exc:
    st.error(f"{exc}")
except Exception as exc:  # no traceback reaches the user; the log keeps it
    logging.getLogger("autointerp.app").exception("page failed")
    st.error(
        f"Something went wrong ({type(exc).__name__}: {exc}). Try again, or reload the page; "
        "the details are in the server log."
    )
