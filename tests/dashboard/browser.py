"""What the real-browser tests share: Debian's Chromium, and a live Streamlit server."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _chromium_setup() -> tuple[str, list[str]]:
    """The same Chromium and flags as the repository's tooling (scripts/chromium.py), loaded by path."""
    spec = importlib.util.spec_from_file_location("_tooling_chromium", ROOT / "scripts" / "chromium.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CHROMIUM, list(module.CHROMIUM_ARGS)


CHROMIUM, CHROMIUM_ARGS = _chromium_setup()
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
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine can take longer to shut the server down
            proc.kill()
            proc.wait(timeout=30)
