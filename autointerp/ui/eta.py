"""Time left in a long job, measured from its own progress rather than promised as a constant.

The first launch promised "about a minute" and took 337 s under load: each stage's rate, measured as it runs,
is the only estimate that holds on a loaded machine."""

from __future__ import annotations


def time_left(done: int, total: int, elapsed: float, min_elapsed: float = 2.0) -> float | None:
    """Seconds left in a stage at its rate so far; None until it has run `min_elapsed` s and done something
    (an early rate is mostly start-up noise)."""
    if done <= 0 or total <= 0 or elapsed < min_elapsed:
        return None
    return max(0.0, elapsed * (total - done) / done)


def duration_text(seconds: float) -> str:
    """ "about 40 s", "about 3 min": rounded as coarsely as an estimate deserves."""
    if seconds < 60:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    return f"about {round(seconds / 60)} min"
