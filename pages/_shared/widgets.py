"""The dashboard's two in-page components (clickable token chips, "Copy link"), whose HTML, CSS and JavaScript
live in `autointerp.ui.component_assets`, and the deep-link steps between a page and app.py.

The components are defined once, at import: a component registered on every rerun would be registered again
each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from autointerp.ui.component_assets import CHIPS_JS, COPY_CSS, COPY_HTML, COPY_JS

_chips = st.components.v2.component("autointerp_chips", js=CHIPS_JS, isolate_styles=False)
_copy = st.components.v2.component("autointerp_copy_link", html=COPY_HTML, css=COPY_CSS, js=COPY_JS)


def require_app(page: str) -> None:
    """Run app.py first when a page was opened by its own address on a freshly started server.

    Until a session has called `st.navigation`, Streamlit treats `pages/` as a legacy page folder and runs the
    page alone, without the workspace app.py loads. A shared link to /centroids would then fail; instead, go
    through app.py and come back to the same page with the same address."""
    if "interp" in st.session_state:
        return
    st.session_state["_deep_link"] = (page, dict(st.query_params))
    st.switch_page("app.py")


def linked_workspace() -> str | None:
    """The workspace the address names, or the one the page `require_app` came from named."""
    link = st.session_state.get("_deep_link")
    return st.query_params.get("workspace") or (link[1].get("workspace") if link else None)


def follow_deep_link() -> None:
    """In app.py, once the workspace is loaded: return to the page `require_app` came from."""
    link = st.session_state.pop("_deep_link", None)
    if link is not None:
        st.switch_page(link[0], query_params=link[1])


def chips(html: str, key: str, on_click: Callable[[], None]) -> Any:
    """Mount a block of chips; clicking one calls `on_click`, which reads `clicked_position(key)`."""
    return _chips(key=key, data={"html": html}, on_clicked_change=on_click)


def clicked_position(key: str) -> int | None:
    """The position of the chip just clicked in the block mounted under `key` (in its callback)."""
    state = st.session_state.get(key)
    value = state.get("clicked") if state is not None else None
    return int(value) if isinstance(value, (int, float)) else None


def copy_link_button(key: str = "copy_link") -> None:
    """A button that copies this page's address, which the page keeps in sync with what it shows."""
    _copy(key=key, height="content")
