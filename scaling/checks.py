"""Up-front parameter checks shared by the fitting functions (sklearn-style messages that say what to pass)."""

from __future__ import annotations

from typing import Any

import numpy as np

from scaling.errors import ScalingError


def check_int(name: str, value: Any, low: int, where: str) -> int:
    """``int(value)``, or a ValueError naming the parameter and the function ``where`` it was passed to."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ScalingError(
            f"The {name!r} parameter of {where} must be an int in the range [{low}, inf). Got {value!r} instead."
        )
    return int(value)
