"""What the real-browser tests share: Debian's Chromium, and a live Streamlit server."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(workspaces: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free loopback port over this workspaces folder; yields its URL once healthy."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        + ["--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"]
        + ["--browser.gatherUsageStats", "false"],
        cwd=ROOT,
        env={**os.environ, "AUTOINTERP_WORKSPACES": str(workspaces)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Streamlit server did not become healthy")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
