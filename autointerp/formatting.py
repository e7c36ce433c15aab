"""How numbers are shown, in one place: the CLI, the dashboard, the HTML export and JSON outputs.

A confidence is rounded once, here, to two places, so the same value never prints 0.99 in one view and
1.00 in another (rounding to three places first and then printing two did exactly that).
"""

from __future__ import annotations

import math
from typing import Any

CONFIDENCE_PLACES = 2
NUMBER_PLACES = 3
JSON_PLACES = 4  # floats in JSON outputs: no binary noise such as 0.4406000000000001
NOT_MEASURED = "not measured"


def confidence_value(value: float | None) -> float | None:
    """A confidence as a table cell holds it (a number the table formats as `%.2f`), or None."""
    if value is None or math.isnan(value):
        return None
    return round(float(value), CONFIDENCE_PLACES)


def confidence_text(value: float | None, missing: str = NOT_MEASURED) -> str:
    """`0.87`; `missing` when nothing measured it (pass None for an unmeasured record)."""
    v = confidence_value(value)
    return missing if v is None else f"{v:.{CONFIDENCE_PLACES}f}"


def number_text(value: float | None, places: int = NUMBER_PLACES, missing: str = "—") -> str:
    """An activation, distance, share or accuracy: `0.412`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    return f"{float(value):.{places}f}"


def number_value(value: float, places: int = NUMBER_PLACES) -> float:
    """The same rounding as `number_text`, kept a number (for sortable table columns)."""
    return round(float(value), places)


def span_text(low: float | None, high: float | None, places: int = NUMBER_PLACES, missing: str = "—") -> str:
    """An interval with both ends to the same places: `0.822 – 0.946`."""
    if low is None or high is None:
        return missing
    return f"{number_text(low, places)} – {number_text(high, places)}"


def count_text(n: int | float, singular: str, plural: str | None = None) -> str:
    """`1 attempt`, `3 attempts`, `2 tokens` (a whole count never prints as 2.00)."""
    n = int(round(n))
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


def rounded(data: Any, places: int = JSON_PLACES) -> Any:
    """`data` with every float rounded, for JSON outputs; ints, strings and None pass through."""
    if isinstance(data, float):
        return round(data, places) if math.isfinite(data) else data
    if isinstance(data, dict):
        return {k: rounded(v, places) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [rounded(v, places) for v in data]
    return data
