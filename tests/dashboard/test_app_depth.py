"""AppTest for a stack's pages: the layer selector, the depth view (chip grid, Sankey, depth facts) and
the centroid browser's parents and children, which open a centroid at its own layer."""

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from autointerp.stack.folder import Stack

APP = str(Path(__file__).resolve().parents[2] / "app.py")
SENTENCE = "The cat sat on the mat."


@pytest.fixture()
def stack_env(tiny_stack, tmp_path, monkeypatch):
    root = tmp_path / "workspaces"
    shutil.copytree(tiny_stack.parent, root, ignore=shutil.ignore_patterns("explanations"))
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(root))
    return Stack.open(root / tiny_stack.name)


def open_at(stack: Stack, layer: int) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["workspace"] = stack.workspaces[layer].path.name
    at.session_state["sentence"] = SENTENCE
    return at.run()


def follow(at: AppTest, page: str, **carried) -> AppTest:
    """Where a page sent the user. AppTest reruns only the page script after the first run (it treats
    pages/ as a legacy multipage folder), so the app shell, which applies `goto_workspace`, runs in a
    fresh session that starts on `page` and carries the request over; the browser test clicks through."""
    nxt = AppTest.from_file(APP, default_timeout=120)
    nxt.session_state["goto_workspace"] = at.session_state["goto_workspace"]
    nxt.session_state["sentence"] = SENTENCE
    nxt.run()  # the shell applies the request on the default page
    for k, v in carried.items():
        nxt.session_state[k] = v
    return nxt.switch_page(page).run() if page != "pages/analyze.py" else nxt


def picker(at: AppTest):
    return next(s for s in at.selectbox if s.label == "Centroid")


def test_sentence_page_shows_the_depth_view_and_switches_layer(stack_env):
    at = open_at(stack_env, 2)
    assert not at.exception
    sel = at.segmented_control(key="depth_layer")
    assert list(sel.options) == ["layer 1", "layer 2", "layer 3"] and sel.value == 2
    grid = next(h.proto.body for h in at.html if 'id="ai-depth"' in h.proto.body)
    n = grid.count('class="ai-dt"')
    assert n >= 6  # one row per token
    for layer in (1, 2, 3):
        assert grid.count(f'data-layer="{layer}"') == n  # a chip per token and layer
    assert grid.count(" cur") == n + 1  # the current layer's column (and its header) is outlined
    assert "ai-tip" in grid  # hover cards as on the chips
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    sankey = fig["data"][0]
    assert sankey["type"] == "sankey"
    assert {label.split()[0] for label in sankey["node"]["label"]} == {"L1", "L2", "L3"}
    # every layer step carries all n tokens
    assert sum(sankey["link"]["value"]) == 2 * n
    assert json.loads(at.get("plotly_chart")[0].proto.config)["displayModeBar"] is False  # no toolbar on "layer 3"
    labels = {a["text"]: a["xanchor"] for a in fig["layout"]["annotations"]}
    assert labels == {"layer 1": "left", "layer 2": "center", "layer 3": "right"}  # none cut at the edges
    facts = next(c.value for c in at.code if c.value.startswith("ACROSS LAYERS"))
    assert "layer 1:" in facts and "layer 3:" in facts
    # the layer selector asks the app for the other layer's workspace, which then analyses there
    at.segmented_control(key="depth_layer").set_value(3).run()
    assert not at.exception
    assert at.session_state["goto_workspace"] == stack_env.workspaces[3].path.name
    at = follow(at, "pages/analyze.py")
    assert not at.exception
    assert at.session_state["interp"].workspace.path == stack_env.workspaces[3].path
    assert at.segmented_control(key="depth_layer").value == 3
    grid = next(h.proto.body for h in at.html if 'id="ai-depth"' in h.proto.body)
    assert 'class="ai-dh cur">layer 3<' in grid


def test_a_plain_workspace_shows_no_depth_view(tiny_workspace, tmp_path, monkeypatch):
    root = tmp_path / "plain"
    shutil.copytree(tiny_workspace, root / tiny_workspace.name, ignore=shutil.ignore_patterns("explanations"))
    monkeypatch.setenv("AUTOINTERP_WORKSPACES", str(root))
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert not at.segmented_control and not any('id="ai-depth"' in h.proto.body for h in at.html)


def centroid_picker(at):
    """The centroid selectbox (its key follows its labels, so it is found by its label)."""
    return next(s for s in at.selectbox if s.label == "Centroid")


def test_centroid_browser_opens_a_child_at_its_own_layer(stack_env):
    at = open_at(stack_env, 1)
    at.switch_page("pages/centroids.py").run()
    assert not at.exception
    cid = int(centroid_picker(at).value)
    kids = stack_env.children(1, cid)
    assert kids and stack_env.parents(1, cid) == []  # layer 1 is the shallowest
    assert any("shallowest layer" in c.value for c in at.caption)
    buttons = [b for b in at.button if b.key and b.key.startswith("lin_child_")]
    assert [b.label for b in buttons] == [f"L2 · c{f.centroid_id}" for f in kids[:8]]
    shares = [m.value for m in at.markdown if m.value.startswith("**") and "%**" in m.value]
    n = kids[0].count
    assert shares[0].startswith(f"**{kids[0].share:.0%}** ({n:,} token{'s' if n != 1 else ''}) — ")
    assert len(shares) == len(buttons) + len(stack_env.parents(1, cid))
    child = kids[-1].centroid_id if len(kids) <= 8 else kids[7].centroid_id
    at.button(key=f"lin_child_{child}").click().run()
    assert not at.exception
    assert at.session_state["goto_workspace"] == stack_env.workspaces[2].path.name
    assert int(centroid_picker(at).value) == child  # the page took the centroid request at once
    at = follow(at, "pages/centroids.py", goto_centroid=child)
    assert not at.exception
    assert at.session_state["interp"].workspace.path == stack_env.workspaces[2].path
    assert int(centroid_picker(at).value) == child
    parents = [b for b in at.button if b.key and b.key.startswith("lin_parent_")]
    assert f"L1 · c{cid}" in [b.label for b in parents]  # and it lists where it came from
