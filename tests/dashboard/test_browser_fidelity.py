"""In Chromium: the sentence page's fidelity overlay draws one KL cell per token, with the library's values on
hover, and the text's own CE loss recovered beside the workspace's."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from autointerp.interp import KMeansAutoInterp
from autointerp.tokens import visible

from .browser import needs_chromium

pytestmark = needs_chromium
SENTENCE = "The cat sat on the mat."


def test_the_overlay_shows_each_tokens_kl_on_hover(tiny_server, page, tiny_model, tmp_path):
    url, ws = tiny_server
    interp = KMeansAutoInterp.from_workspace(ws, model=tiny_model, cache_dir=str(tmp_path / "cache"))
    with ThreadPoolExecutor(1) as pool:  # Playwright's event loop owns this thread
        analysis = pool.submit(asyncio.run, interp.analyze(SENTENCE, explain=False)).result()
    doc = interp.sentence_fidelity([r.token_id for r in analysis.rows])
    n = len(analysis.rows)

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    page.get_by_role("textbox", name="Text to analyse").fill(SENTENCE)
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function("n => document.querySelectorAll('.ai-chip').length === n", arg=n, timeout=60_000)
    page.get_by_text("Fidelity overlay").click()
    chart = page.locator(".stPlotlyChart", has=page.locator(".heatmaplayer"))
    chart.wait_for(timeout=120_000)
    ticks = chart.locator(".xaxislayer-above text").evaluate_all("els => els.map(e => e.textContent)")
    assert ticks == [visible(r.token_str) for r in analysis.rows]
    # the text's own figure, as the library computes it
    tile = page.locator("[data-testid='stMetric']", has_text="This text: CE loss recovered")
    assert tile.locator("[data-testid='stMetricValue']").inner_text() == f"{doc.ce_recovered:.2f}"
    # hover: each cell shows its token and its KL, as the library computes it
    plot = chart.locator(".nsewdrag").first.bounding_box()
    assert plot is not None
    for i in (0, 1, 2, n - 1):  # consecutive cells differ in token, so each hover label is a new one
        label = visible(analysis.rows[i].token_str)
        page.mouse.move(plot["x"] + (i + 0.5) * plot["width"] / n, plot["y"] + plot["height"] / 2, steps=4)
        page.wait_for_function(
            "t => [...document.querySelectorAll('.hoverlayer .hovertext')].some(e => e.textContent.startsWith(t))",
            arg=label + ("not patched" if doc.kl[i] is None else "KL"),
            timeout=10_000,
        )
        text = chart.locator(".hoverlayer .hovertext").first.text_content() or ""
        if doc.kl[i] is not None:
            value = re.search(r"KL (\d+\.\d{3}) nats", text)
            assert value is not None and float(value.group(1)) == pytest.approx(doc.kl[i], abs=6e-4)
    assert page.locator("[data-testid='stException']").count() == 0
