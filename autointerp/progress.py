"""Progress reporting that the CLI (tqdm) and the dashboard (st.progress) both plug into."""

from __future__ import annotations

import sys
from typing import Any, Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None: ...


def silent(stage: str, done: int, total: int) -> None:
    return None


class TqdmProgress:
    """One tqdm bar per stage, replaced when the stage changes."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.bar: Any = None
        self.finished: set[str] = set()

    def __enter__(self) -> TqdmProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End an unfinished bar, so that what is printed next (an error, say) starts on its own line."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm.auto import tqdm

        if stage in self.finished:
            return
        if stage != self.stage:
            if self.bar is not None:
                self.bar.close()
            self.stage = stage
            # Redraws at most once a second on a terminal, and once in 30 s into a file or pipe, where each
            # redraw is another line (a piped build wrote thousands of them).
            interval = 1.0 if sys.stderr.isatty() else 30.0
            self.bar = tqdm(total=total, desc=stage, unit="", dynamic_ncols=True, mininterval=interval)
        assert self.bar is not None
        self.bar.total = total
        self.bar.update(done - self.bar.n)  # drawn when tqdm's interval has passed, and on close
        if done >= total:
            self.bar.close()
            self.bar = None
            self.stage = None
            self.finished.add(stage)
