"""Atomic file writes: readers never see half a file, and a failed write leaves nothing behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
