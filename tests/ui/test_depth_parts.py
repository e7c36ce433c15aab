"""The stack sections' pure parts: parent/child headings and the explanations read from a layer's cache."""

from __future__ import annotations

import shutil

from autointerp.explain.explanation_cache import CentroidExplanationCache
from autointerp.records import CentroidExplanation
from autointerp.stack.folder import Stack
from autointerp.ui.depth_parts import layer_explanations, lineage_headings


def test_headings_name_the_adjacent_layers_and_say_which_end_of_the_stack_has_none():
    (p_title, p_empty), (c_title, c_empty) = lineage_headings(None, 2)
    assert p_title == "**Parents**" and "shallowest" in p_empty
    assert c_title.startswith("**Children** at layer 2:") and c_empty == "No validation tokens."
    (p_title, p_empty), (c_title, c_empty) = lineage_headings(1, None)
    assert p_title.startswith("**Parents** at layer 1:") and p_empty == "No validation tokens."
    assert c_title == "**Children**" and "deepest" in c_empty


def test_layer_explanations_read_that_layers_cache_and_leave_out_the_unexplained(tiny_stack, tmp_path):
    shutil.copytree(tiny_stack.parent, tmp_path / "ws", ignore=shutil.ignore_patterns("explanations"))
    stack = Stack.open(tmp_path / "ws" / tiny_stack.name)
    e = CentroidExplanation(1, "Articles", 0.8, ["the cat"], "2026-01-01T00:00:00", {})
    CentroidExplanationCache(stack.workspaces[2].explanations_dir).set(e)
    assert layer_explanations(stack, 2, [0, 1, 2]) == {1: e}
    assert 1 not in layer_explanations(stack, 3, [1])  # another layer's cache is its own
