"""Real-browser test of a stack: the depth view and its Sankey render, the layer selector switches the
workspace, and clicking a child centroid in the centroid browser opens it at its own layer."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

from .browser import needs_chromium, streamlit_server

pytestmark = needs_chromium
SENTENCE = "The cat sat on the mat."


@pytest.fixture(scope="module")
def stack_server(tiny_stack, tmp_path_factory):
    from autointerp.stack.folder import Stack

    root = tmp_path_factory.mktemp("served-stack") / "workspaces"
    shutil.copytree(tiny_stack.parent, root, ignore=shutil.ignore_patterns("explanations"))
    with streamlit_server(root) as url:
        yield url, Stack.open(root / tiny_stack.name)


def sidebar_layer(page) -> str:
    return page.locator("[data-testid='stSidebar']").get_by_text("Layer").first.locator("..").inner_text()


def current_layer(page) -> int:
    return int(page.locator("#ai-depth .ai-dh.cur").inner_text().split()[-1])


def test_sankey_renders_and_a_child_centroid_opens_at_its_layer(stack_server, page, tiny_model):
    from autointerp.stack_interp import StackInterp

    url, stack = stack_server
    stacked = StackInterp.open(stack.path, model=tiny_model)
    with ThreadPoolExecutor(1) as pool:  # Playwright's event loop owns this thread
        depth = pool.submit(asyncio.run, stacked.analyze(SENTENCE, explain=False)).result()
    nodes = {(layer, r.centroid_id) for layer in depth.layers for r in depth.per_layer[layer].rows}
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#ai-depth", timeout=120_000)
    page.get_by_role("textbox", name="Text to analyse").fill(SENTENCE)
    page.get_by_role("button", name="Analyze").click()
    n = len(depth.rows)
    page.wait_for_function("n => document.querySelectorAll('#ai-depth .ai-dt').length === n", arg=n, timeout=60_000)
    assert page.locator("#ai-depth .ai-chip").count() == n * 3
    # the Sankey: one node per (layer, centroid) the text uses, and links between them
    page.wait_for_function(  # the figure redraws a moment after the grid
        "n => document.querySelectorAll('.stPlotlyChart .sankey-node').length === n", arg=len(nodes), timeout=60_000
    )
    assert page.locator(".stPlotlyChart .sankey-link").count() >= 2
    assert page.locator("[data-testid='stException']").count() == 0
    # the codebook's fidelity per layer (issue 17): both figures and their random baselines, a point per layer
    chart = page.locator(".stPlotlyChart", has=page.locator(".legendtext", has_text="random: FVE"))
    chart.wait_for(timeout=60_000)
    assert chart.locator(".scatterlayer .trace").count() == 4
    assert chart.locator(".scatterlayer .trace").first.locator("path.point").count() == len(depth.layers)
    assert "CE loss recovered" in page.locator("[data-testid='stSidebar']").inner_text()
    # the layer selector opens another layer's workspace (the sidebar follows)
    for layer in (3, 1) if current_layer(page) != 3 else (1,):
        page.locator("[data-testid='stButtonGroup']").get_by_text(f"layer {layer}", exact=True).click()
        page.wait_for_function(
            "t => [...document.querySelectorAll('#ai-depth .ai-dh.cur')].some(e => e.textContent === t)",
            arg=f"layer {layer}",
            timeout=60_000,
        )
        assert f"Layer {layer}" in sidebar_layer(page)
    # the centroid browser at layer 1: click a child centroid, which opens at layer 2
    page.locator(".ai-host .ai-chip").nth(1).click()  # a token of the text, then its centroid in the browser
    page.get_by_role("link", name="Open in the centroid browser").click()
    page.get_by_text("Across layers: parents and children").first.wait_for(timeout=60_000)
    assert "Layer 1" in sidebar_layer(page)  # the page switch kept the layer chosen above
    child = page.get_by_role("button", name="L2 · c").first
    label = child.inner_text().strip()
    cid = int(label.split("· c")[1])
    child.click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stSidebar\"]').innerText.includes('Layer 2')", timeout=60_000
    )
    page.wait_for_function(
        "cid => [...document.querySelectorAll('h3')].some(h => h.textContent.startsWith('Centroid ' + cid))",
        arg=cid,
        timeout=60_000,
    )
    page.get_by_role("button", name="L1 · c").first.wait_for(timeout=30_000)  # its parents, one layer up
    assert page.locator("[data-testid='stException']").count() == 0
