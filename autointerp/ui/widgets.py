"""Two small in-page components for the dashboard: clickable token chips and a "Copy link" button.

They are Streamlit v2 components: plain JavaScript mounted in the page itself (no iframe), so the chips'
hover cards can overflow their block like any element. The chip HTML comes from `ui.chips`, where every
text is escaped; the JavaScript only reads `data-pos` from the clicked chip and never builds HTML from data.
Defined once at import: a component registered on every rerun would be registered again each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

_CHIPS_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let host = parentElement.querySelector(":scope > .ai-host");
  if (!host) {
    host = document.createElement("div");
    host.className = "ai-host";
    parentElement.appendChild(host);
  }
  host.innerHTML = data.html;  // built by autointerp.ui.chips: every text in it is escaped
  const pick = (chip) => setTriggerValue("clicked", Number(chip.dataset.pos));
  host.onclick = (e) => {
    const chip = e.target.closest(".ai-chip");
    if (chip && host.contains(chip)) pick(chip);
  };
  host.onkeydown = (e) => {
    const chip = e.target.closest(".ai-chip");
    if (chip && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); pick(chip); }
  };
  // Flip a hover card to the left when it would run off the right edge of the window.
  for (const chip of host.querySelectorAll(".ai-chip")) {
    chip.classList.toggle("flip", chip.getBoundingClientRect().left > window.innerWidth - 380);
  }
}
"""

_COPY_HTML = (
    '<button type="button" class="ai-copy">Copy link</button><span class="ai-copied" aria-live="polite"></span>'
)
_COPY_CSS = """
.ai-copy{font:inherit;font-size:14px;padding:4px 12px;border-radius:8px;border:1px solid rgba(49,51,63,.2);
  background:#fff;cursor:pointer;color:inherit}
.ai-copy:hover{border-color:#3b6fd8;color:#3b6fd8}
.ai-copied{margin-left:8px;font-size:13px;color:#2e7d32}
"""
_COPY_JS = """
export default function (component) {
  const { parentElement } = component;
  const button = parentElement.querySelector(".ai-copy");
  const note = parentElement.querySelector(".ai-copied");
  button.onclick = async () => {
    const link = window.location.href;  // the page keeps its address in sync with the view
    let done = false;
    try { await navigator.clipboard.writeText(link); done = true; } catch (err) {
      const area = document.createElement("textarea");  // older browsers, or no clipboard permission
      area.value = link; document.body.appendChild(area); area.select();
      try { done = document.execCommand("copy"); } catch (e2) { done = false; }
      area.remove();
    }
    note.textContent = done ? "Copied: paste it to share this exact view" : "Copy failed: copy the address bar";
    note.dataset.link = link;
  };
}
"""

_chips = st.components.v2.component("autointerp_chips", js=_CHIPS_JS, isolate_styles=False)
_copy = st.components.v2.component("autointerp_copy_link", html=_COPY_HTML, css=_COPY_CSS, js=_COPY_JS)


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
