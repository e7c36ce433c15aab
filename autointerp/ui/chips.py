"""Pure functions that turn analysis results into HTML: token chips, hover cards, examples.

Everything textual is escaped: token strings, corpus text and explanations (which may come from an LLM
or a user's edit) are treated as hostile.
"""

from __future__ import annotations

import html
from functools import lru_cache
from typing import Any

import numpy as np

from autointerp.constants import LOW_CONFIDENCE, TRIVIAL_FLAGS
from autointerp.formatting import confidence_text as fmt_confidence
from autointerp.records import SentenceRow
from autointerp.tokens import visible

__all__ = ["visible"]  # how a token is shown lives in the core (`autointerp.tokens`); the pages import it here


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB colours in [0, 1], shape (n, 3): where distances are close to perceived ones."""
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


@lru_cache(maxsize=4)
def _palette(n: int) -> tuple[str, ...]:
    """`n` colours, each as far (CIELAB distance) from all earlier ones as any candidate light enough for dark
    text (L* 62-93) can be: farthest-point order, so every prefix is spread as widely as its size allows, and a
    longer palette begins with a shorter one (a centroid keeps its colour whatever k is)."""
    steps = np.arange(0, 256, 8) / 255
    rgb = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_lab(rgb)
    keep = (lab[:, 0] >= 62) & (lab[:, 0] <= 93)
    rgb, lab = rgb[keep], lab[keep]
    chosen = [int(np.argmin(np.abs(lab - [80, 30, 40]).sum(1)))]  # a warm sand to start from
    nearest = np.linalg.norm(lab - lab[chosen[0]], axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(nearest))
        chosen.append(nxt)
        nearest = np.minimum(nearest, np.linalg.norm(lab - lab[nxt], axis=1))
    return tuple("#" + "".join(f"{round(v * 255):02x}" for v in rgb[i]) for i in chosen)


def centroid_color(cid: int) -> str:
    """One stable colour per centroid on every page. Golden-ratio hues at one lightness gave neighbours that
    looked the same (c80 #aaedd6, c59 #aaedde); these are spread in a perceptual space instead (`_palette`)."""
    cid = int(cid)
    size = 256
    while cid >= size:  # a workspace with more centroids: a longer palette that begins with the same colours
        size *= 2
    return _palette(size)[cid]


def esc(s: Any) -> str:
    return html.escape(str(s), quote=True)


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
        f"<b>token</b> {esc(visible(row.token_str))} · pos {row.position}",
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


def ends_sentence(tok: str, next_tok: str | None) -> bool:
    """A newline, or . ! ? followed by a space or the end of the text: "4." before "5%" ends nothing."""
    if "\n" in tok:
        return True
    return bool(tok.strip()) and tok.strip()[-1] in SENTENCE_END and (next_tok is None or next_tok[:1].isspace())


def segments(rows: list[SentenceRow], min_len: int = 12, max_len: int = 60) -> list[list[SentenceRow]]:
    """Split the chips into blocks at sentence ends (`ends_sentence`; at least `min_len`, at most `max_len` tokens
    each), so that a token's details can open right below the block that holds it, whatever the text's length.
    The page and the HTML export both draw these blocks: one splitter for every view."""
    out: list[list[SentenceRow]] = []
    block: list[SentenceRow] = []
    for i, row in enumerate(rows):
        block.append(row)
        after = rows[i + 1].token_str if i + 1 < len(rows) else None
        ends = "\n" in row.token_str or (ends_sentence(row.token_str, after) and len(block) >= min_len)
        if ends or len(block) >= max_len:
            out.append(block)
            block = []
    if block:
        out.append(block)
    return out
