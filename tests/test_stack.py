"""Stacks: several layers from one forward pass, each equal to its single-layer build, with lineage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from autointerp.config import RunOptions
from autointerp.errors import InputError, WorkspaceError
from autointerp.stack.folder import Stack, build_stack, stacks_containing
from autointerp.stack.lineage import Lineage
from autointerp.workspace import Workspace, build_workspace

LAYERS = [1, 2, 3]


@pytest.fixture()
def stack_dir(tiny_stack) -> Path:
    return tiny_stack


def test_each_layer_equals_its_single_layer_build(stack_dir, tiny_config, tiny_model, tiny_workspace, tmp_path):
    stack = Stack.open(stack_dir)
    assert stack.layers == LAYERS and not stack.missing and stack.manifest.layers == LAYERS
    assert tiny_config.layer == 2  # the session's single-layer workspace serves as layer 2's reference
    for layer in LAYERS:
        alone = (
            tiny_workspace
            if layer == 2
            else build_workspace(tiny_config.with_(layer=layer), tmp_path, options=RunOptions(model=tiny_model))
        )
        single = Workspace.open(alone)
        layered = stack.workspaces[layer]
        assert layered.path.name == single.path.name  # the folder `--layer N` would write
        assert layered.config == single.config and layered.info.layer == layer
        assert torch.equal(layered.centroids, single.centroids)
        assert torch.equal(layered.center, single.center)
        for split in ("val", "heldout"):
            a, b = layered.splits[split].index, single.splits[split].index
            for f in ("cluster", "second", "window", "pos", "token"):
                assert np.array_equal(np.asarray(getattr(a.records, f)), np.asarray(getattr(b.records, f))), f
            assert np.array_equal(np.asarray(a.records.dist), np.asarray(b.records.dist))
            assert np.array_equal(np.asarray(a.order), np.asarray(b.order))
            assert np.array_equal(layered.splits[split].windows, single.splits[split].windows)


def test_lineage_counts_sum_to_the_validation_population(stack_dir):
    stack = Stack.open(stack_dir)
    assert set(stack.lineages) == {(1, 2), (2, 3)}
    for (a, b), lin in stack.lineages.items():
        va, vb = stack.workspaces[a].splits["val"].index, stack.workspaces[b].splits["val"].index
        assert lin.total == len(va) == len(vb)
        assert np.array_equal(lin.source_population(), va.counts)
        assert np.array_equal(lin.target_population(), vb.counts)
        for cid in range(lin.k_source):
            kids = lin.children(cid)
            assert sum(f.count for f in kids) == va.counts[cid]
            if kids:
                assert abs(sum(f.share for f in kids) - 1.0) < 1e-9
                assert [f.count for f in kids] == sorted((f.count for f in kids), reverse=True)
                assert all(f.layer == b for f in kids)
        for cid in range(lin.k_target):
            assert sum(f.count for f in lin.parents(cid)) == vb.counts[cid]
        # each count is the number of tokens in both centroids, counted directly
        ca, cb = np.asarray(va.records.cluster), np.asarray(vb.records.cluster)
        top = lin.children(int(np.bincount(ca).argmax()))[0]
        src = int(np.bincount(ca).argmax())
        assert top.count == int(((ca == src) & (cb == top.centroid_id)).sum())


def test_rebuilding_reuses_and_a_stack_is_found_from_its_workspaces(stack_dir, tiny_config):
    again = build_stack(tiny_config, LAYERS, stack_dir.parent)  # everything on disk: no model needed
    assert again == stack_dir
    for layer in LAYERS:
        ws = Stack.open(stack_dir).workspaces[layer].path
        assert stacks_containing(ws) == [stack_dir]


def test_a_missing_layer_opens_with_the_rest(stack_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(stack_dir.parent, root)
    manifest = json.loads((root / stack_dir.name / "stack.json").read_text())
    shutil.rmtree(root / manifest["workspaces"]["2"])
    stack = Stack.open(root / stack_dir.name)
    assert stack.layers == [1, 3] and list(stack.missing) == [2]
    assert "layer 2" in stack.notice and "not on disk" in stack.notice and "1, 3" in stack.notice
    lin = stack.lineage(1, 3)  # recomputed from the two indexes, no forward pass
    assert lin is not None and lin.total == len(stack.workspaces[1].splits["val"].index)
    assert stack.previous(3) == 1 and stack.next(1) == 3 and stack.next(3) is None


def test_a_stack_with_no_layer_left_or_no_manifest_is_a_clear_error(stack_dir, tmp_path):
    with pytest.raises(WorkspaceError, match="not a stack"):
        Stack.open(tmp_path)
    root = tmp_path / "copy"
    shutil.copytree(stack_dir, root / stack_dir.name)  # the stack folder without its workspaces
    with pytest.raises(WorkspaceError, match="none of the layers"):
        Stack.open(root / stack_dir.name)


def test_bad_layers_are_refused_before_any_work(tiny_config, tiny_model, tmp_path):
    with pytest.raises(InputError, match="empty"):
        build_stack(tiny_config, [], tmp_path, options=RunOptions(model=tiny_model))
    with pytest.raises(InputError, match="repeated: 2"):
        build_stack(tiny_config, [2, 1, 2], tmp_path, options=RunOptions(model=tiny_model))
    with pytest.raises(InputError, match="out of range.*0..3"):
        build_stack(tiny_config, [1, 7], tmp_path, options=RunOptions(model=tiny_model))
    assert not any(tmp_path.iterdir())  # nothing written


def test_misaligned_indexes_are_refused(stack_dir):
    stack = Stack.open(stack_dir)
    a = stack.workspaces[1].splits["val"].index.records
    b = stack.workspaces[1].splits["heldout"].index.records
    with pytest.raises(WorkspaceError, match="different validation tokens"):
        Lineage.from_records(1, 2, a, b, 8, 8)


def test_a_damaged_manifest_is_a_clear_error(stack_dir, tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(stack_dir.parent, root)
    manifest = root / stack_dir.name / "stack.json"
    data = json.loads(manifest.read_text())
    del data["workspaces"]["2"]
    manifest.write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="workspaces for \\[1, 3\\]"):
        Stack.open(root / stack_dir.name)
    manifest.write_text("{not json")
    with pytest.raises(WorkspaceError, match="damaged"):
        Stack.open(root / stack_dir.name)
