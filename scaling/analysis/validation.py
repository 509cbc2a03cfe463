"""How a forecast weighs its trend shapes: stacking on a validation score.

:func:`shape_weights` returns stacking weights (Yao, Vehtari, Simpson & Gelman 2018: the
weights ``w`` maximising ``sum_i log sum_k w_k p_k(y_i | rest)``) and says which score
they rest on. ``"loo"``: PSIS-LOO (:func:`scaling.compare`); when a point's Pareto k exceeds
0.7 the LOO estimate at that point is unreliable, the comparison says so and the forecast's
assumptions carry the warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from scaling.errors import ScalingError

METHODS = ("auto", "loo", "equal")


def shape_weights(
    fits: Mapping[str, xr.DataTree], *, method: str = "auto", **_: Any
) -> tuple[dict[str, float], str, Any]:
    """Stacking weights of the fitted shapes, a description of the method used, and the comparison.

    ``method``: ``"auto"`` or ``"loo"`` (PSIS-LOO stacking), ``"equal"`` (1/K each).
    """
    from scaling.analysis.comparison import compare

    if method not in METHODS:
        raise ScalingError(f"The 'validation' parameter of forecast must be one of {list(METHODS)}. Got {method!r}.")
    if len(fits) == 1 or method == "equal":
        return {s: 1.0 / len(fits) for s in fits}, "equal weights", None
    comparison = compare(fits)
    if comparison.table is None:
        return {s: 1.0 / len(fits) for s in fits}, "equal weights (comparison unreliable)", comparison
    weights = {s: float(comparison.table.loc[s, "weight"]) for s in fits}
    desc = "PSIS-LOO stacking"
    if comparison.high_k:
        n = sum(len(t) for t in comparison.high_k.values())
        desc += (
            f" (Pareto k > 0.7 at {n} point(s) in {', '.join(comparison.high_k)}: the LOO estimate is unreliable "
            "there and was not refitted; weigh the shapes with care)"
        )
    return weights, desc, comparison
