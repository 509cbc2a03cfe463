"""Up-front parameter checks shared by the library's functions (sklearn-style messages that say what
to pass), raised as :class:`scaling.errors.ScalingError`; and the one gross-margin rule of planning."""

from __future__ import annotations

from typing import Any

import numpy as np

from scaling.errors import ScalingError

#: The gross-margin rule of every planning function, the ``[plan]`` spec table and ``scaling plan``.
#: The gross margin is ``g = (R - cost of revenue) / R``; compute is paid from the cost of revenue,
#: ``s (1 - g) R`` a year, so at ``g = 1`` nothing pays for compute (and the newsvendor's
#: underbuying cost ``g d / (s (1 - g))`` is infinite); at ``g = 0`` a shortfall loses no gross profit.
GROSS_MARGIN_RULE = (
    "in (0, 1): gross profit over revenue (e.g. 0.8); compute is paid from the cost of revenue, (1 - gross_margin) "
    "of revenue, none of which is left at 1"
)


def check_int(name: str, value: Any, low: int, where: str) -> int:
    """``int(value)``, or a ScalingError naming the parameter and the function ``where`` it was passed to."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ScalingError(
            f"The {name!r} parameter of {where} must be an int in the range [{low}, inf). Got {value!r} instead."
        )
    return int(value)


def gross_margin_ok(value: Any) -> bool:
    """Whether ``value`` keeps :data:`GROSS_MARGIN_RULE`: a number strictly between 0 and 1."""
    try:
        return 0.0 < float(value) < 1.0
    except (TypeError, ValueError):
        return False


def check_gross_margin(value: Any, where: str) -> float:
    """``float(value)`` when it keeps :data:`GROSS_MARGIN_RULE`, else a ScalingError naming ``where``.

    >>> check_gross_margin(0.8, "plan")
    0.8
    """
    if isinstance(value, bool) or not gross_margin_ok(value):
        raise ScalingError(f"{where}: 'gross_margin' must be {GROSS_MARGIN_RULE}. Got {value!r}.")
    return float(value)
