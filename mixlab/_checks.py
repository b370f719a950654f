"""One test for the numbers mixlab refuses unless finite and >= 0 (or > 0): weights, ratios, caps, penalties.

Callers keep their own messages (what failed, where, the fix); this only decides.

>>> is_finite_number(0.0), is_finite_number(0.0, positive=True), is_finite_number(float("nan")), is_finite_number(True)
(True, False, False, False)
"""

from __future__ import annotations

import math
import numbers
from typing import Any


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (int, float, numpy scalar, ...) and not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def is_finite_number(value: Any, *, positive: bool = False) -> bool:
    """Whether ``value`` is a finite real number (not a bool) that is >= 0, or > 0 with ``positive``."""
    return is_number(value) and math.isfinite(value) and (value > 0 if positive else value >= 0)


__all__ = ["is_finite_number", "is_number"]
