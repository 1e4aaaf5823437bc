"""Reading a number from a control request's JSON."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> float | None:
    """A JSON number as a finite float; None for anything else: a boolean, NaN, infinity (JSON's
    1e999 reads as one), or an int past a float's range (on which `math.isfinite` raises)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
