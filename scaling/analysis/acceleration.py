"""Has progress accelerated? The growth rates either side of a fitted break.

For a fit of ``broken_exponential_trend`` (growth ``g1`` before the break, ``g2`` after, the
break date ``b`` sampled with them; see :func:`scaling.models.trend_laws.broken_exponential_trend`)
and the relative change ``r = (g2 - g1) / |g1|`` (``g2 / g1 - 1`` for a growing series), draw by draw:

* **accelerated** when ``P(r > rope) >= prob`` (default rope 0.1: growth at least 10% faster
  after the break; prob 0.9);
* **slowed** when ``P(r < -rope) >= prob``;
* **no change** when ``P(|r| < rope) >= prob``;
* **inconclusive** otherwise.

The diagnostics gate runs first: a fit that fails it gets ``unreliable: <reason>`` and no
numbers. The break date's posterior (median and 90% interval) is reported with the verdict:
a break near the data's ends rests on few points.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from scaling.analysis.diagnostics import diagnose
from scaling.analysis.prediction import model_from_fit
from scaling.errors import ScalingError


@dataclass
class Acceleration:
    """Outcome of :func:`accelerated`: ``category``, sentence ``text``, probabilities and the break."""

    category: str
    text: str
    p_accelerated: float = float("nan")
    p_slowed: float = float("nan")
    p_no_change: float = float("nan")
    break_year: tuple[float, float, float] = (float("nan"),) * 3  # 5%, 50%, 95%
    doubling_days: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("category", "text", "p_accelerated", "p_slowed", "p_no_change")} | {
            "break_year": list(self.break_year),
            "doubling_days": {k: list(v) for k, v in self.doubling_days.items()},
        }


def accelerated(fit: xr.DataTree, *, rope: float = 0.1, prob: float = 0.9) -> Acceleration:
    """Verdict on acceleration from a ``broken_exponential_trend`` fit (see module doc)."""
    from scaling.analysis.crossings import as_date

    if not 0 < prob < 1 or rope < 0:
        raise ScalingError(f"accelerated needs 0 < prob < 1 and rope >= 0. Got prob={prob!r}, rope={rope!r}.")
    law = model_from_fit(fit).law
    if law.name != "broken_exponential_trend":
        raise ScalingError(f"accelerated needs a fit of 'broken_exponential_trend'; this fit is {law.name!r}.")
    gate = diagnose(fit)
    if not gate.ok:
        reason = gate.reasons[0] if gate.reasons else "diagnostics gate failed"
        return Acceleration("unreliable", f"unreliable: {reason}; no verdict given")
    post = fit["posterior"]
    g1 = post["growth_before"].values.ravel()
    g2 = post["growth_after"].values.ravel()
    r = (g2 - g1) / np.abs(g1)  # = g2 / g1 - 1 for a growing series
    p_acc, p_slow = float(np.mean(r > rope)), float(np.mean(r < -rope))
    p_same = float(np.mean(np.abs(r) < rope))
    category = (
        "accelerated"
        if p_acc >= prob
        else "slowed"
        if p_slow >= prob
        else "no change"
        if p_same >= prob
        else "inconclusive"
    )
    q = (5, 50, 95)
    br = tuple(float(v) for v in np.percentile(post["break_year"].values.ravel(), q))
    days = {
        k: tuple(float(v) for v in np.percentile(post[f"doubling_{k}_days"].values.ravel(), q))
        for k in ("before", "after")
    }
    text = (
        f"{category}: P(growth after the break > {1 + rope:g}x growth before) = {p_acc:.2f}, "
        f"P(< {1 - rope:g}x) = {p_slow:.2f}, P(within {rope:.0%}) = {p_same:.2f}. Break {as_date(br[1])} "
        f"(90%: {as_date(br[0])} to {as_date(br[2])}); doubling time {days['before'][1]:.0f} days before, "
        f"{days['after'][1]:.0f} days after."
    )
    return Acceleration(category, text, p_acc, p_slow, p_same, br, days)
