"""Take the README's screenshots from the default workspace, in Debian's Chromium, as a new user sees the app.

    .venv/bin/python scripts/screenshots.py     # needs the default workspace (python -m autointerp build)

Starts the dashboard on a free port, drives it with Playwright and writes docs/screenshots/*.png. The HTML
export is opened from a file with the network blocked, as a collaborator without the app would open it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (scripts/ is on the path: run as a script)

from autointerp.config import BuildConfig, default_workspace_root  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SENTENCE = "The quick brown fox jumps over the lazy dog."


def serve(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(240):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    sys.exit("the dashboard did not start")


def settle(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)
    page.wait_for_timeout(800)


def sentence_page(page: Page, url: str) -> None:
    page.goto(f"{url}/?{urlencode({'text': SENTENCE})}")
    page.wait_for_selector(".ai-chip", timeout=300_000)
    settle(page)
    page.locator(".ai-chip").nth(3).hover()
    page.wait_for_timeout(400)
    page.screenshot(path=OUT / "sentence-analysis.png")
    page.locator(".ai-chip").nth(3).click()
    page.get_by_role("link", name="Open in the centroid browser").wait_for(timeout=60_000)
    settle(page)
    page.mouse.move(5, 5)
    page.screenshot(path=OUT / "token-panel.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as HTML").click()
    export = Path(tempfile.mkdtemp()) / "analysis.html"
    download.value.save_as(export)
    page.get_by_role("link", name="Open in the centroid browser").click()
    page.wait_for_selector(".stPlotlyChart .main-svg", timeout=120_000)
    settle(page)
    page.screenshot(path=OUT / "centroid-browser.png")
    page.get_by_text("Further out").first.scroll_into_view_if_needed()
    page.wait_for_timeout(400)
    page.screenshot(path=OUT / "centroid-details.png")
    export_page(page, export)


def export_page(page: Page, export: Path) -> None:
    """The exported file, opened offline: every request but the file itself is refused."""
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
    page.goto(export.as_uri())
    page.locator(".ai-chip").nth(3).hover()
    page.wait_for_timeout(300)
    page.screenshot(path=OUT / "html-export.png")
    page.unroute("**/*")


def cache_page(page: Page, url: str) -> None:
    page.goto(f"{url}/cache")
    page.get_by_text("Cache review").first.wait_for(timeout=120_000)
    settle(page)
    page.screenshot(path=OUT / "cache-review.png")


def main() -> int:
    name = BuildConfig().folder_name()
    if (
        not (Path(default_workspace_root()) / name / "build.json").exists()
        and not (ROOT / default_workspace_root() / name / "build.json").exists()
    ):
        sys.exit(f"build the default workspace first: python -m autointerp build   (expected {name})")
    OUT.mkdir(parents=True, exist_ok=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = serve(port)
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            sentence_page(page, url)
            cache_page(page, url)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
