"""The HTML export and the SVG of the chips: self-contained, complete and inert, whatever the text holds."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from autointerp.cli import main
from autointerp.records import Status
from autointerp.ui.export import analysis_html, chips_svg

XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


class Tags(HTMLParser):
    """Every start tag and its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    p = Tags()
    p.feed(html)
    return p.tags


def hostile_rows(interp):
    rows = asyncio.run(interp.analyze("The cat sat on the mat.")).rows
    rows[0] = dataclasses.replace(rows[0], token_str=XSS, explanation=f"evil {XSS}", explainer=XSS)
    rows[1] = dataclasses.replace(rows[1], status=Status.UNSCORED, confidence=0.0)
    return rows


def test_export_holds_chips_cards_table_and_meta_and_nothing_runs(tiny_interp):
    rows = hostile_rows(tiny_interp)
    html = analysis_html(rows, meta=f"meta says {XSS}", about={"model": XSS, "layer": "2"})
    tags = parse(html)
    names = [t for t, _ in tags]
    assert "script" not in names and "img" not in names and "iframe" not in names and "link" not in names
    assert not any(k.startswith("on") for _, attrs in tags for k in attrs)  # no event handlers anywhere
    assert not any(k in ("src", "href", "srcset", "action", "data") for _, attrs in tags for k in attrs)
    assert not re.search(r"url\(|@import|https?://", html)  # nothing for the styles to fetch either
    assert html.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 5  # token, card, table, meta, about
    chips = [a for t, a in tags if t == "span" and "ai-chip" in (a.get("class") or "").split()]
    cards = [a for t, a in tags if t == "span" and a.get("class") == "ai-tip"]
    assert len(chips) == len(cards) == len(rows)
    assert names.count("tr") == len(rows) + 1  # header + one row per token
    assert "not measured" in html and "meta says" in html
    csp = next(a for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in csp["content"]


def test_chips_svg_is_well_formed_and_escaped(tiny_interp):
    rows = hostile_rows(tiny_interp)
    svg = chips_svg(rows)
    root = ET.fromstring(svg)  # raises on anything that is not well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert len([r for r in root.iter(f"{ns}rect") if "chip" in r.get("class", "").split()]) == len(rows)
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts[0] == XSS.replace(" ", "·")  # the payload is text, shown as typed
    assert root.find(f".//{ns}script") is None


def test_cli_writes_the_html_and_nothing_on_bad_input(tiny_workspace, tmp_path, capsys):
    out = tmp_path / "analysis.html"
    assert main(["analyze", "The cat sat on the mat.", "--workspace", str(tiny_workspace), "--html", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Meta-interpretation" in html and "ai-tip" in html
    assert "wrote" in capsys.readouterr().err
    bad = tmp_path / "bad.html"
    assert main(["analyze", "   ", "--workspace", str(tiny_workspace), "--html", str(bad)]) == 2
    assert not bad.exists() and not list(tmp_path.glob(".bad.html*"))


def test_chips_svg_keeps_the_pages_marks_and_fits_its_text(tiny_interp):
    """The SVG dropped the dashed (low confidence) and hatched (trivial) marks, and was 960 px wide for any text."""
    rows = asyncio.run(tiny_interp.analyze("The cat sat on the mat.")).rows
    marked = [
        dataclasses.replace(rows[0], status=Status.SCORED, confidence=0.1),  # low: dashed
        dataclasses.replace(rows[1], status=Status.UNSCORED, confidence=0.0),  # not measured: dotted
        dataclasses.replace(rows[2], status=Status.SCORED, confidence=0.9, flags=["single-token"]),  # trivial
        dataclasses.replace(rows[3], status=Status.SCORED, confidence=0.9, flags=[]),
    ]
    ns = "{http://www.w3.org/2000/svg}"
    root = ET.fromstring(chips_svg(marked))
    chips = [r for r in root.iter(f"{ns}rect") if "chip" in r.get("class", "").split()]
    assert chips[0].get("stroke-dasharray") == "4 2" and chips[1].get("stroke-dasharray") == "1.5 2"
    assert chips[3].get("stroke-dasharray") is None
    hatched = [r for r in root.iter(f"{ns}rect") if r.get("fill") == "url(#ai-hatch)"]
    assert len(hatched) == 1 and hatched[0].get("x") == chips[2].get("x")
    assert root.find(f".//{ns}pattern").get("id") == "ai-hatch"
    short = int(root.get("width"))
    assert short < 300 and short >= float(chips[3].get("x")) + float(chips[3].get("width"))  # fits its 4 chips
    long_rows = [dataclasses.replace(rows[i % len(rows)], position=i) for i in range(200)]
    assert int(ET.fromstring(chips_svg(long_rows)).get("width")) <= 960  # a long text wraps at the maximum
