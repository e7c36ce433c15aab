"""The browser side of the dashboard's two in-page components: clickable token chips and a "Copy link" button.

Plain HTML, CSS and JavaScript kept as data, so this package never imports Streamlit; `pages/_shared/widgets.py`
registers them as Streamlit v2 components. They mount in the page itself (no iframe), so the chips' hover cards can
overflow their block like any element. The chip HTML comes from `ui.chips`, where every text is escaped; the
JavaScript only reads `data-pos` from the clicked chip and never builds HTML from data.
"""

CHIPS_JS = """
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

COPY_HTML = '<button type="button" class="ai-copy">Copy link</button><span class="ai-copied" aria-live="polite"></span>'
COPY_CSS = """
.ai-copy{font:inherit;font-size:14px;padding:4px 12px;border-radius:8px;border:1px solid rgba(49,51,63,.2);
  background:#fff;cursor:pointer;color:inherit}
.ai-copy:hover{border-color:#3b6fd8;color:#3b6fd8}
.ai-copied{margin-left:8px;font-size:13px;color:#2e7d32}
"""
COPY_JS = """
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
