import json

import pytest
import torch

from autointerp.config import RunOptions
from autointerp.errors import CorpusError, InputError, WorkspaceError
from autointerp.workspace import Workspace, build_workspace, is_built, list_workspaces, workspace_path


def test_workspace_contents_and_metadata(tiny_workspace, tiny_config):
    ws = Workspace.open(tiny_workspace)
    assert ws.config == tiny_config
    assert ws.centroids.shape == (8, 64)
    for key in ("model", "layer", "site", "k", "normalisation", "corpus", "seed", "sink_policy", "outlier_policy"):
        assert getattr(ws.info, key) is not None
    assert torch.allclose(ws.centroids.norm(dim=1), torch.ones(8), atol=1e-4)  # spherical
    assert len(ws.splits["val"].index) >= tiny_config.val_tokens
    assert len(ws.splits["heldout"].index) >= tiny_config.heldout_tokens
    # every indexed token points at a real stored token
    r = ws.splits["val"].index.records
    assert (ws.splits["val"].windows[r.window, r.pos] == r.token).all()


def test_unchanged_config_reuses_and_changed_config_never_mixes(tiny_workspace, tiny_config, tiny_model):
    mtime = (tiny_workspace / "build.json").stat().st_mtime
    again = build_workspace(tiny_config, tiny_workspace.parent, options=RunOptions(model=tiny_model))
    assert again == tiny_workspace and (again / "build.json").stat().st_mtime == mtime
    other = tiny_config.with_(k=6)
    assert workspace_path(other, tiny_workspace.parent) != tiny_workspace
    built = build_workspace(other, tiny_workspace.parent, options=RunOptions(model=tiny_model))
    assert Workspace.open(built).centroids.shape[0] == 6
    assert Workspace.open(tiny_workspace).centroids.shape[0] == 8
    assert set(list_workspaces(tiny_workspace.parent)) >= {built, tiny_workspace}


def test_failed_build_leaves_nothing(tiny_config, tiny_model, tmp_path):
    bad = tiny_config.with_(corpus=str(tmp_path / "missing.txt"))
    with pytest.raises(CorpusError):
        build_workspace(bad, tmp_path / "ws", options=RunOptions(model=tiny_model))
    assert not (tmp_path / "ws").exists() or not any((tmp_path / "ws").iterdir())


def test_write_that_fails_midway_leaves_no_partial_folder(tiny_config, tiny_model, tmp_path, monkeypatch):
    from autointerp.core.index import ValidationIndex

    saved = []

    def full_disk(self, folder):
        saved.append(folder)
        (folder / "half-written.npy").parent.mkdir(parents=True, exist_ok=True)
        (folder / "half-written.npy").write_bytes(b"x")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ValidationIndex, "save", full_disk)
    root = tmp_path / "ws"
    with pytest.raises(OSError, match="No space"):
        build_workspace(tiny_config, root, options=RunOptions(model=tiny_model))
    assert saved, "the failure must happen while writing"
    assert list(root.iterdir()) == []  # neither the target nor the temporary folder remains


def test_unwritable_workspace_root_is_a_clear_error(tiny_config, tiny_model, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(WorkspaceError, match="cannot write a workspace"):
        build_workspace(tiny_config, blocker / "sub", options=RunOptions(model=tiny_model))
    with pytest.raises(InputError, match="out of range"):
        build_workspace(tiny_config.with_(layer=10), tmp_path / "ws", options=RunOptions(model=tiny_model))


def test_damaged_workspace_is_reported(tiny_workspace, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(tiny_workspace, copy)
    (copy / "centroids.pt").write_bytes(b"junk")
    with pytest.raises(WorkspaceError, match="damaged"):
        Workspace.open(copy)
    with pytest.raises(WorkspaceError, match="not a built workspace"):
        Workspace.open(tmp_path / "nothing")
    b = json.loads((copy / "build.json").read_text())
    (copy / "build.json").write_text(json.dumps({**b, "format_version": 0}))
    with pytest.raises(WorkspaceError, match="another version"):
        Workspace.open(copy)
    assert is_built(copy)
