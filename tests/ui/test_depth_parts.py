"""The stack sections' pure parts: parent/child headings."""

from __future__ import annotations

from autointerp.ui.depth_parts import lineage_headings


def test_headings_name_the_adjacent_layers_and_say_which_end_of_the_stack_has_none():
    (p_title, p_empty), (c_title, c_empty) = lineage_headings(None, 2)
    assert p_title == "**Parents**" and "shallowest" in p_empty
    assert c_title.startswith("**Children** at layer 2:") and c_empty == "No validation tokens."
    (p_title, p_empty), (c_title, c_empty) = lineage_headings(1, None)
    assert p_title.startswith("**Parents** at layer 1:") and p_empty == "No validation tokens."
    assert c_title == "**Children**" and "deepest" in c_empty
