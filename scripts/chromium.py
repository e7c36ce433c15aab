"""Debian's Chromium as the tooling drives it (screenshots, the dashboard bench): headless, no sandbox (root in
containers), and none of the background network traffic an offline machine cannot serve."""

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
