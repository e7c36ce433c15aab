"""Atomic writes: whole files, with the mode a plain write would give (readable by others as the umask allows)."""

import os
import stat

from autointerp.files import atomic_write_text, current_umask


def test_atomic_writes_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert current_umask() == 0o022
        atomic_write_text(tmp_path / "a.json", "{}")
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644  # tempfile alone gives 0o600
        os.umask(0o077)
        atomic_write_text(tmp_path / "b.json", "{}")
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").read_text() == "{}" and not list(tmp_path.glob(".*.tmp"))


def test_a_workspace_is_shared_as_the_umask_allows(tiny_workspace):
    """Built under the suite's umask: the folder and its files have the usual modes, not tempfile's 0o700."""
    mask = current_umask()
    assert stat.S_IMODE(tiny_workspace.stat().st_mode) == 0o777 & ~mask
    for name in ("build.json", "config.json"):
        assert stat.S_IMODE((tiny_workspace / name).stat().st_mode) == 0o666 & ~mask


def test_a_staged_folder_appears_whole_or_not_at_all(tmp_path):
    import pytest

    from autointerp.files import StagedFolder

    target = tmp_path / "ws"
    with StagedFolder(target) as tmp:
        (tmp / "a").write_text("1")
    assert (target / "a").read_text() == "1"
    with pytest.raises(RuntimeError), StagedFolder(target) as tmp:
        (tmp / "a").write_text("half")
        raise RuntimeError("the build failed midway")
    assert (target / "a").read_text() == "1" and [p.name for p in tmp_path.iterdir()] == ["ws"]
    with StagedFolder(target) as tmp:  # a rebuild replaces the old folder
        (tmp / "b").write_text("2")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    with StagedFolder(target, replace=False) as tmp:  # someone else finished first: theirs is kept
        (tmp / "c").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"] and [p.name for p in tmp_path.iterdir()] == ["ws"]
