"""Real-browser tests: Playwright driving Debian's Chromium against a live Streamlit server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autointerp import CentroidExplanation, CentroidExplanationCache

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("AUTOINTERP_SCREENSHOTS", ""))
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")
XSS = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(real_workspace, tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    ws = Path(shutil.copytree(real_workspace, root / real_workspace.name))
    # a hostile explanation for a centroid that no sentence below is likely to hit first
    CentroidExplanationCache(ws / "explanations").set(CentroidExplanation(23, f"evil {XSS}", 0.5, [XSS]))
    port = free_port()
    env = {**os.environ, "AUTOINTERP_WORKSPACES": str(root)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the Streamlit server did not become healthy")
    yield url, ws
    proc.terminate()
    proc.wait(timeout=10)


def shot(page, name: str, full_page: bool = False) -> None:
    """Screenshots for the README, written only when AUTOINTERP_SCREENSHOTS names a folder."""
    if str(SHOTS) not in ("", "."):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def wait_ready(page) -> None:
    page.wait_for_selector("#ai-chips, [data-testid='stTitle'], h1", timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000)


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0


def test_analyze_hover_tooltip_and_click_through(server, page):
    url, _ = server
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    box = page.get_by_role("textbox", name="Text to analyse")
    box.fill("The quick brown fox jumps over the lazy dog.")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function("() => document.querySelectorAll('.ai-chip').length === 10", timeout=60_000)
    chip = page.locator(".ai-chip").nth(3)
    assert "fox" in chip.inner_text()
    chip.hover()
    tip = chip.locator(".ai-tip")
    page.wait_for_function("el => getComputedStyle(el).visibility === 'visible'", arg=tip.element_handle())
    text = tip.inner_text()
    assert "centroid" in text and "confidence" in text and "margin" in text and "explanation" in text
    page.wait_for_timeout(300)  # let the fade-in finish before the screenshot
    shot(page, "sentence-analysis")
    no_exception(page)
    page.get_by_text("3: ·fox", exact=True).click()
    page.get_by_role("button", name="Open in the centroid browser").wait_for(timeout=60_000)
    page.get_by_role("button", name="Open in the centroid browser").click()
    page.get_by_text("Centroid browser").first.wait_for(timeout=60_000)
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=60_000)
    page.get_by_text("Member distances").first.wait_for(timeout=60_000)
    assert page.locator(".ai-ex mark").count() > 0
    shot(page, "centroid-browser")
    page.locator(".ai-ex").first.scroll_into_view_if_needed()
    shot(page, "centroid-details")
    no_exception(page)


def pick_centroid(page, cid: int, current: str) -> None:
    """Choose a centroid on the cache page and wait until its edit field shows `current`."""
    sel = page.locator("[data-testid='stSelectbox']").filter(has_text="Centroid").last
    sel.click()
    page.keyboard.type(str(cid))  # the option list is virtualised: filter it so the option is rendered
    page.get_by_role("option", name=str(cid), exact=True).click()
    page.wait_for_function(
        "v => { const f = [...document.querySelectorAll('input[aria-label=\"Edit this explanation\"]')];"
        " return f.length === 1 && f[0].value === v; }",
        arg=current,
        timeout=30_000,
    )


def test_edit_persists_after_reload_and_scripts_never_run(server, page):
    url, ws = server
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=120_000)
    cid = int(page.locator(".ai-chip").last.get_attribute("data-centroid"))  # the final "."
    hostile = f"Sentence-final punctuation {XSS}"
    page.goto(f"{url}/cache")
    page.get_by_text("Cache review").first.wait_for(timeout=60_000)
    cache = CentroidExplanationCache(ws / "explanations")
    pick_centroid(page, cid, cache.get(cid).explanation)
    field = page.get_by_label("Edit this explanation")
    field.fill(hostile)
    field.press("Enter")
    page.get_by_role("button", name="Save edit").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1000)
    rec = CentroidExplanationCache(ws / "explanations").get(cid)
    assert rec.explanation == hostile and rec.metadata["human_edited"]
    assert rec.metadata["score"]["method"] == "exact-rule" and rec.metadata["score"]["n_pos"] > 0  # rescored
    page.reload()
    page.get_by_text("Cache review").first.wait_for(timeout=60_000)
    pick_centroid(page, cid, hostile)
    shot(page, "cache-review")
    # shown as text in the analysis tooltips and the browser, never run
    page.goto(url)
    page.wait_for_selector(".ai-chip", timeout=60_000)
    page.get_by_role("textbox", name="Text to analyse").fill(f"Hello {XSS} world.")
    page.get_by_role("button", name="Analyze").click()
    page.wait_for_function(  # the hostile explanation arrives as text inside a tooltip
        "() => [...document.querySelectorAll('.ai-tip')].some(e => e.textContent.includes('<img src=x'))",
        timeout=60_000,
    )
    assert page.locator(".ai-chips img").count() == 0 and page.locator(".ai-chips script").count() == 0
    page.goto(f"{url}/centroids")
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=60_000)
    search = page.get_by_role("textbox", name="Search explanations")
    search.fill("Sentence-final")
    search.press("Enter")
    page.get_by_text("<img src=x", exact=False).first.wait_for(timeout=60_000)
    assert page.evaluate("() => window.__pwned") is None
    assert dialogs == []
    no_exception(page)
