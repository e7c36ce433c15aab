"""In Chromium: the centroid browser shows the stored output side, and the Steer box generates both texts."""

from __future__ import annotations

from playwright.sync_api import expect

from autointerp.workspace import Workspace

from .browser import needs_chromium

pytestmark = needs_chromium
expect.set_options(timeout=120_000)


def idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)


def test_output_side_panel_and_steer_box(tiny_server, page):
    url, ws = tiny_server
    side = Workspace.open(ws).output_side(2)
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(f"{url}/centroids?centroid=2")
    expect(page.locator(".ai-output-description")).to_have_text(side.description)
    expect(page.locator(".stPlotlyChart").filter(has_text="Promoted tokens")).to_be_visible()
    idle(page)
    page.get_by_label("Prompt").fill("The cat sat on the")
    page.get_by_role("button", name="Steer").click()
    expect(page.get_by_text("Without the direction")).to_be_visible()
    expect(page.get_by_text("With the direction", exact=True)).to_be_visible()
    codes = page.locator("[data-testid='stCode']")
    expect(codes).to_have_count(2)
    assert all(t.startswith("The cat sat on the") for t in codes.all_inner_texts())
    page.get_by_label("Prompt").fill("")
    page.get_by_role("button", name="Steer").click()
    expect(page.get_by_text("Cannot steer: type a prompt to steer")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
