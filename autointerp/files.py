"""Atomic file writes: readers never see half a file, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType


def current_umask() -> int:
    """The process's umask, read without setting it (os.umask sets it, and another thread could create a
    file in between)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def usual_mode(path: str | os.PathLike[str], directory: bool = False) -> None:
    """Give a temp file or folder (created owner-only by `tempfile`) the mode a plain open or mkdir would
    have had, so workspaces, caches and exports on a shared drive are readable as the umask allows."""
    os.chmod(path, (0o777 if directory else 0o666) & ~current_umask())


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        usual_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StagedFolder:
    """A temporary sibling of `target`, with the mode mkdir would give, that becomes `target` whole on a clean
    exit and is removed on any other: readers see the old folder or the new one, never half of one.

    Making it raises OSError at once (an unwritable parent), before any work is done. `replace=False` keeps
    a `target` that appeared meanwhile (another process finished the same work first) and drops this one."""

    def __init__(self, target: Path, prefix: str | None = None, replace: bool = True):
        target.parent.mkdir(parents=True, exist_ok=True)
        self.target, self.replace = target, replace
        self.path = Path(tempfile.mkdtemp(prefix=prefix or f".{target.name}.", dir=target.parent))
        usual_mode(self.path, directory=True)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                if self.replace and self.target.exists():
                    shutil.rmtree(self.target)
                try:
                    os.replace(self.path, self.target)
                except OSError:
                    if self.replace or not self.target.exists():
                        raise
        finally:
            if self.path.exists():
                shutil.rmtree(self.path, ignore_errors=True)
