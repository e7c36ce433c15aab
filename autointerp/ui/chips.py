"""Pure functions that turn analysis results into HTML: token chips, hover cards, examples.

Everything textual is escaped: token strings, corpus text and explanations (which may come from an LLM
or a user's edit) are treated as hostile.
"""

from __future__ import annotations

import colorsys
import html
from typing import Any

from autointerp.constants import LOW_CONFIDENCE, TRIVIAL_FLAGS
from autointerp.formatting import confidence_text as fmt_confidence
from autointerp.records import SentenceRow


def centroid_color(cid: int) -> str:
    """One stable colour per centroid on every page: golden-ratio hues, light enough for dark text."""
    h = (int(cid) * 0.618033988749895) % 1.0
    r, g, b = colorsys.hls_to_rgb(h, 0.80, 0.65)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


def visible(tok: str) -> str:
    """Whitespace made visible: · for a space, ↵ for a newline, → for a tab."""
    return tok.replace(" ", "·").replace("\n", "↵").replace("\t", "→") or "∅"


CHIP_CSS = """
<style>
[data-testid="stElementContainer"]:has(.ai-chips),[data-testid="stHtml"]:has(.ai-chips){position:relative;z-index:50;overflow:visible}
.ai-chips{line-height:2.3;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:15px}
.ai-chip{position:relative;display:inline-block;padding:1px 4px;margin:1px;border-radius:4px;
  border:1px solid rgba(0,0,0,.15);cursor:pointer;color:#111;white-space:pre}
.ai-chip.low{border:1px dashed #555;color:#555}
.ai-chip.unmeasured{border:1px dotted #888}
.ai-chip.trivial{background-image:repeating-linear-gradient(45deg,rgba(0,0,0,.06) 0 4px,transparent 4px 8px)}
.ai-chip .ai-tip{visibility:hidden;opacity:0;position:absolute;z-index:10;left:0;top:120%;min-width:260px;
  max-width:360px;white-space:normal;background:#1f2430;color:#f5f5f5;padding:8px 10px;border-radius:6px;
  font:13px/1.4 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.3);transition:opacity .1s}
.ai-chip.flip .ai-tip{left:auto;right:0}
.ai-chip:hover .ai-tip,.ai-chip:focus .ai-tip{visibility:visible;opacity:1}
.ai-chip:focus{outline:2px solid #3b6fd8;outline-offset:1px}
.ai-chip.sel{outline:2px solid #d62728;outline-offset:1px}
.ai-tip b{color:#ffd479}
.ai-br{display:block;height:0}
.ai-ex{font-family:ui-monospace,monospace;font-size:13px;line-height:1.6;margin:2px 0;white-space:pre-wrap}
.ai-ex mark{padding:0 2px;border-radius:3px;color:#111}
.ai-ex .act{color:#888;font-size:11px;margin-right:6px}
</style>
"""


def confidence_text(row: SentenceRow) -> str:
    """ "0.81", "0.32 (low: uncertain)" or "not measured": an unmeasured 0.00 is never shown as a score."""
    if row.status is None:
        return "unexplained"
    if not row.measured:
        return f"not measured ({row.status})"
    return fmt_confidence(row.confidence) + (" (low: uncertain)" if row.confidence < LOW_CONFIDENCE else "")


def tooltip_html(row: SentenceRow) -> str:
    lines = [
        f"<b>token</b> {esc(repr(row.token_str))} · pos {row.position}",
        f"<b>centroid</b> {row.centroid_id}",
        f"<b>explanation</b> {esc(row.explanation or '(unexplained)')}",
        f"<b>confidence</b> {esc(confidence_text(row))}",
        f"<b>activation</b> {row.activation:.3f} · <b>distance</b> {row.distance:.3f}",
        f"<b>margin</b> {row.margin:.3f} to runner-up centroid {row.runner_up_id}",
    ]
    if row.explainer:
        lines.append(f"<b>explainer</b> {esc(row.explainer)}")
    if row.flags:
        lines.append(f"<b>flags</b> {esc(', '.join(row.flags))}")
    return "<br>".join(lines)


def chip_classes(row: SentenceRow) -> list[str]:
    """How a chip is drawn: dashed for a low measured confidence, dotted when unmeasured, hatched if trivial."""
    cls = ["ai-chip"]
    if row.measured and row.confidence < LOW_CONFIDENCE:
        cls.append("low")
    elif not row.measured:
        cls.append("unmeasured")
    if TRIVIAL_FLAGS & set(row.flags):
        cls.append("trivial")
    return cls


def token_chips_html(rows: list[SentenceRow], selected: int | None = None, block_id: str = "ai-chips") -> str:
    """Token heatmap: one chip per token, coloured by centroid, with a hover card of details."""
    parts = [CHIP_CSS, f'<div class="ai-chips" id="{esc(block_id)}">']
    n = len(rows)
    for i, row in enumerate(rows):
        cls = chip_classes(row)
        if i > n * 0.6:
            cls.append("flip")
        if selected is not None and row.position == selected:
            cls.append("sel")
        style = f"background-color:{centroid_color(row.centroid_id)}"
        parts.append(
            f'<span class="{" ".join(cls)}" style="{style}" tabindex="0" data-pos="{row.position}" '
            f'data-centroid="{row.centroid_id}">{esc(visible(row.token_str))}'
            f'<span class="ai-tip" role="tooltip">{tooltip_html(row)}</span></span>'
        )
        if "\n" in row.token_str:
            parts.append('<span class="ai-br"></span>')
    parts.append("</div>")
    return "".join(parts)


def examples_html(examples: list[dict[str, Any]], centroid_id: int) -> str:
    color = centroid_color(centroid_id)
    out = [CHIP_CSS]
    for ex in examples:
        out.append(
            f'<div class="ai-ex"><span class="act">{ex["activation"]:.3f}</span>{esc(ex["left"])}'
            f'<mark style="background:{color}">{esc(visible(ex["token"]))}</mark>{esc(ex["right"])}</div>'
        )
    if not examples:
        out.append('<div class="ai-ex">No validation tokens belong to this centroid.</div>')
    return "".join(out)


SENTENCE_END = frozenset(".!?")


def segments(rows: list[SentenceRow], min_len: int = 12, max_len: int = 60) -> list[list[SentenceRow]]:
    """Split the chips into blocks at sentence ends and newlines (at least `min_len`, at most `max_len` tokens
    each), so that a token's details can open right below the block that holds it, whatever the text's length."""
    out: list[list[SentenceRow]] = []
    block: list[SentenceRow] = []
    for row in rows:
        block.append(row)
        tok = row.token_str
        ends = "\n" in tok or (tok.strip() and tok.strip()[-1] in SENTENCE_END and len(block) >= min_len)
        if ends or len(block) >= max_len:
            out.append(block)
            block = []
    if block:
        out.append(block)
    return out
