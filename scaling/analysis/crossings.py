"""When does capability reach a threshold? First crossing dates, draw by draw.

:func:`crossing` finds, per trajectory draw, the first date at which it reaches a threshold
(linear interpolation on the date grid); draws that never reach it before the horizon are counted
as "not by <horizon>" with their probability, never dropped. :func:`as_date` writes a decimal year
as an ISO date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scaling.errors import ScalingError

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


@dataclass
class Crossing:
    """When does capability reach ``threshold``? Per-draw first crossing dates.

    ``question`` names what was timed (the trend's mean curve, or the first released model);
    ``unreliable`` holds the reason when the fits behind it failed the diagnostics gate,
    in which case the table gives no dates.
    """

    threshold: float
    horizon: float
    dates: np.ndarray  # decimal year per draw, NaN when not reached by the horizon
    p_never: float
    already: float
    compute: np.ndarray | None = None
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    question: str = "when do the trajectories reach the threshold"
    unreliable: str | None = None

    def __str__(self) -> str:
        if self.unreliable:
            return f"{self.question}: unreliable ({self.unreliable}); no dates given"
        return self.table.to_string(index=False)


def crossing(
    draws: np.ndarray,
    grid_years: np.ndarray,
    threshold: float,
    *,
    direction: str = "up",
    compute_draws: np.ndarray | None = None,
    quantiles: Sequence[float] = QUANTILES,
    question: str = "when do the trajectories reach the threshold",
    unreliable: str | None = None,
) -> Crossing:
    """First date each trajectory draw reaches ``threshold`` (linear interpolation on the grid).

    Parameters
    ----------
    draws : (sample, date) trajectories, e.g. from :func:`trend_draws` or :func:`compose`
        (mean curves time the trend; predictive draws time the first observation to reach X).
    grid_years : decimal years of the date axis (increasing); the last one is the horizon.
    direction : ``"up"`` (capability rising to the threshold) or ``"down"`` (loss falling to it).
    compute_draws : optional (sample, date) compute trajectories: the compute at the crossing is reported.
    question, unreliable : labels; with ``unreliable`` (a reason) the table gives no dates.

    Returns
    -------
    Crossing with per-draw ``dates`` (NaN: not reached by the horizon), ``p_never``,
    ``already`` (share of draws past the threshold at the first date) and a quantile ``table``
    (``year`` rounded to 2 decimals beside the ISO ``date``).
    """
    if direction not in ("up", "down"):
        raise ScalingError(f"The 'direction' parameter of crossing must be 'up' or 'down'. Got {direction!r}.")
    draws = np.asarray(draws, dtype=np.float64)
    if np.isnan(draws).any():
        raise ScalingError("crossing got NaN trajectory draws; they cannot be ordered against the threshold.")
    v = draws if direction == "up" else -draws
    thr = threshold if direction == "up" else -threshold
    above = v >= thr
    hit = above.any(axis=1)
    first = np.argmax(above, axis=1)
    dates = np.full(v.shape[0], np.nan)
    comp = None if compute_draws is None else np.full(v.shape[0], np.nan)
    for i in np.flatnonzero(hit):
        j = first[i]
        if j == 0:
            dates[i] = grid_years[0]
            frac = 0.0
        else:
            lo, hi = v[i, j - 1], v[i, j]
            frac = (thr - lo) / (hi - lo) if np.isfinite(hi - lo) and hi != lo else 0.0
            dates[i] = grid_years[j - 1] + frac * (grid_years[j] - grid_years[j - 1])
        if comp is not None:
            a, b = compute_draws[i, max(j - 1, 0)], compute_draws[i, j]
            comp[i] = np.exp(np.log(a) + frac * (np.log(b) - np.log(a)))
    p_never = float(np.mean(~hit))
    horizon = float(grid_years[-1])
    rows = []
    for q in quantiles:
        # quantiles over all draws, with "never" draws placed beyond the horizon
        value = np.quantile(np.where(np.isnan(dates), np.inf, dates), q)
        if unreliable:
            row = {"quantile": q, "year": np.nan, "date": "unreliable"}
        else:
            row = {
                "quantile": q,
                "year": round(float(value), 2) if np.isfinite(value) else np.nan,
                "date": as_date(value) if np.isfinite(value) else f"not by {as_date(horizon)}",
            }
        if comp is not None:
            cq = np.quantile(np.where(np.isnan(comp), np.inf, comp), q)
            row["compute"] = cq if np.isfinite(cq) and not unreliable else np.nan
        rows.append(row)
    return Crossing(
        float(threshold),
        horizon,
        dates,
        p_never,
        float(np.mean(above[:, 0])),
        comp,
        pd.DataFrame(rows),
        question,
        unreliable,
    )


def as_date(year: float) -> str:
    """Decimal year -> ISO date, rounded to the nearest day (inverse of ``to_decimal_year``)."""
    y = int(np.floor(year))
    start = pd.Timestamp(f"{y}-01-01")
    days = (pd.Timestamp(f"{y + 1}-01-01") - start).days
    return (start + pd.Timedelta(days=round((year - y) * days))).strftime("%Y-%m-%d")
