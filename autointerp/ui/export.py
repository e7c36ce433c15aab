"""A sentence analysis as one self-contained file: an HTML page that opens offline, and an SVG of the chips.

Pure functions, shared by the dashboard's download buttons and `python -m autointerp analyze --html`. The
page has no scripts and fetches nothing: hover cards are CSS, fonts are the reader's own, and a
Content-Security-Policy forbids every request, so even a payload that escaped escaping could not run or call
home. Every text (tokens, explanations, the meta-interpretation) is escaped all the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from autointerp.config import BuildConfig
from autointerp.formatting import confidence_text as fmt_confidence
from autointerp.records import SentenceRow
from autointerp.ui.chips import (
    centroid_color,
    chip_classes,
    confidence_text,
    esc,
    segments,
    token_chips_html,
    visible,
)

# Nothing may load: no script, font, image, frame or connection; inline styles only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

PAGE_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1e24;margin:24px auto;
  max-width:1100px;padding:0 20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.about{color:#555;font-size:13px;margin:0 0 16px}
.legend{color:#555;font-size:13px;margin:8px 0 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e5ea;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f5f8;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.tok{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:pre}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;border:1px solid #0002}
pre.meta{background:#f6f7f9;border:1px solid #e3e5ea;border-radius:6px;padding:12px;white-space:pre-wrap;
  font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace}
footer{color:#777;font-size:12px;margin-top:32px}
"""


def _cell(row: SentenceRow) -> str:
    conf = fmt_confidence(row.confidence if row.measured else None)
    status = str(row.status) if row.status is not None else "unexplained"
    return (
        f'<tr><td class="num">{row.position}</td><td class="tok">{esc(visible(row.token_str))}</td>'
        f'<td class="num"><span class="swatch" style="background:{centroid_color(row.centroid_id)}"></span>'
        f'{row.centroid_id}</td><td class="num">{esc(conf)}</td><td class="num">{row.activation:.3f}</td>'
        f'<td class="num">{row.margin:.3f}</td><td>{esc(row.explanation or "(unexplained)")}</td>'
        f"<td>{esc(status)}</td><td>{esc(row.explainer or '—')}</td></tr>"
    )


def table_html(rows: Sequence[SentenceRow]) -> str:
    head = "".join(
        f"<th>{h}</th>" for h in ("Pos", "Token", "C-ID", "Conf", "Act", "Margin", "Explanation", "Status", "Explainer")
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(_cell(r) for r in rows)}</tbody></table>"


def about_workspace(config: BuildConfig, k: int, name: str = "") -> dict[str, str]:
    """What produced an analysis, for the export's header line."""
    about = {
        "model": config.model.split(":")[-1],
        "layer": str(config.layer),
        "site": config.site,
        "k": str(k),
        "corpus": config.corpus.split(":")[-1],
    }
    return {**about, "workspace": name} if name else about


def analysis_html(
    rows: Sequence[SentenceRow],
    meta: str = "",
    about: Mapping[str, str] | None = None,
    notice: str = "",
    title: str = "k-means autointerp: sentence analysis",
) -> str:
    """The whole analysis as one HTML page: chips with hover cards, the table and the meta-interpretation.

    `about` names what produced it (model, layer, workspace...); every value is escaped."""
    about_line = " · ".join(f"<b>{esc(k)}</b> {esc(v)}" for k, v in (about or {}).items())
    created = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f"<title>{esc(title)}</title><style>{PAGE_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f'<p class="about">{about_line}</p>' if about_line else "",
        f'<p class="about">{esc(notice)}</p>' if notice else "",
        "<h2>Tokens</h2>",
        *(token_chips_html(b, block_id=f"ai-chips-{i}") for i, b in enumerate(segments(list(rows)))),
        '<p class="legend">Each chip is a token coloured by its centroid; hover or click it for the explanation, '
        "its measured confidence, the activation and the margin to the runner-up centroid. Dashed chips have low "
        "measured confidence, dotted ones were not measured, hatched ones belong to trivial clusters.</p>",
        "<h2>Table</h2>",
        table_html(rows),
        "<h2>Meta-interpretation</h2>",
        f'<pre class="meta">{esc(meta or "(not computed)")}</pre>',
        f"<footer>Exported {created} by k-means autointerp. One self-contained file: no scripts, no network "
        "requests. Confidence is balanced accuracy on held-out tokens mapped to [0, 1]; “not measured” means "
        "nothing measured the explanation.</footer>",
        "</body></html>",
    ]
    return "".join(parts)


# The page's chip marks, as SVG strokes: dashed for a low measured confidence, dotted when nothing measured it.
_SVG_STROKE = {
    "low": ' stroke="#555" stroke-dasharray="4 2"',
    "unmeasured": ' stroke="#888" stroke-dasharray="1.5 2"',
}
_SVG_HATCH = (
    '<defs><pattern id="ai-hatch" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="4" height="8" fill="#0000000f"/></pattern></defs>'
)


def chips_svg(rows: Sequence[SentenceRow], max_width: int = 960, font_px: int = 16) -> str:
    """The chips as a standalone SVG for slides: monospace, so chip widths are known without a browser.

    The same marks as the page (dashed, dotted, hatched: `chip_classes`); lines wrap at `max_width` and the
    image is as wide as its widest line, so a short sentence is not a strip of white. Each chip carries a
    <title> (its centroid and explanation), which SVG viewers show on hover."""
    char_w, pad, gap, line_h, chip_h = font_px * 0.6, 6, 4, font_px + 14, font_px + 8
    x, y, right, out = 0.0, 0.0, 0.0, []
    for r in rows:
        label = visible(r.token_str)
        w = len(label) * char_w + 2 * pad
        if x > 0 and x + w > max_width:
            x, y = 0.0, y + line_h
        cls = chip_classes(r)
        stroke = next((_SVG_STROKE[c] for c in cls if c in _SVG_STROKE), ' stroke="#0003"')
        hatch = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{chip_h}" rx="4" fill="url(#ai-hatch)"/>'
        tip = f"centroid {r.centroid_id}: {r.explanation or '(unexplained)'} · confidence {confidence_text(r)}"
        out.append(
            f'<g><title>{esc(tip)}</title><rect class="chip {" ".join(cls[1:])}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{w:.1f}" height="{chip_h}" rx="4" fill="{centroid_color(r.centroid_id)}"{stroke}/>'
            + (hatch if "trivial" in cls else "")
            + f'<text x="{x + pad:.1f}" y="{y + font_px + 1:.1f}">{esc(label)}</text></g>'
        )
        x += w + gap
        right = max(right, x - gap)
        if "\n" in r.token_str:
            x, y = 0.0, y + line_h
    width, height = int(right) + 2, int(y + line_h)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="DejaVu Sans Mono,Menlo,Consolas,monospace" font-size="{font_px}" fill="#111">{_SVG_HATCH}'
        f'<rect width="100%" height="100%" fill="#fff"/>{"".join(out)}</svg>'
    )
