"""pytest-playwright launches Debian's Chromium (see browser.py) for every browser test here."""

import shutil

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server


@pytest.fixture(scope="session")
def browser_type_launch_args():
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def unexplained_copy(workspace, root):
    """A copy of `workspace` under `root`, without its explanations (so a test starts from none)."""
    return shutil.copytree(workspace, root / workspace.name, ignore=shutil.ignore_patterns("explanations"))


@pytest.fixture()
def app_env(tiny_workspace, tmp_path, monkeypatch):
    """The app's workspace folder holds one unexplained copy of the tiny workspace; returns that copy."""
    root = tmp_path / "workspaces"
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(root))
    return unexplained_copy(tiny_workspace, root)


@pytest.fixture(scope="module")
def tiny_server(tiny_workspace, tmp_path_factory):
    """A Streamlit server on a copy of the tiny workspace (no explanations), one per test module: (url, path)."""
    root = tmp_path_factory.mktemp("served-tiny")
    ws = unexplained_copy(tiny_workspace, root)
    with streamlit_server(root) as url:
        yield url, ws


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test reports what its page showed (URL, any exception box, the text on screen), so
    a failure in CI can be read without a screenshot."""
    outcome = yield
    report = outcome.get_result()
    page = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when != "call" or not report.failed or page is None:
        return
    try:
        text = page.evaluate("() => document.body.innerText.slice(0, 3000)")
    except Exception as exc:  # the page itself may be what broke
        text = f"(the page could not be read: {exc})"
    report.sections.append(("page at failure", f"{page.url}\n{text}"))
