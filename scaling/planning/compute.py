"""From capability to revenue and compute commitments: the cone of uncertainty.

Every function takes and returns posterior **draws**, so uncertainty flows end to
end: capability draws -> revenue draws -> affordable compute.

Revenue mapping. Log revenue is linear in log capability,
``ln R = ln R0 + b ln(cap / cap0)``: each doubling of capability multiplies
revenue by ``2^b``. It is a :func:`~scaling.models.compute_laws.power_law` of revenue against
capability (``b = -alpha``), fitted with NUTS to a revenue history against the
frontier capability at the same dates (:func:`fit_revenue_mapping`), or set by the
user as scenario parameters (:func:`scenario_revenue`). Its residual scatter ``sigma`` is part of the cone.

Affordability. With gross margin ``g`` (revenue minus cost of revenue, over
revenue; in (0, 1): :data:`scaling.checks.GROSS_MARGIN_RULE`) and compute's share ``s``
of the cost of revenue, revenue ``R`` pays for ``s (1 - g) R`` a year of compute
(at ``g = 0.8``, ``s = 1``: $100B pays for $20B).
A commitment of capex ``K`` costs ``d K`` a year, ``d = max(1 / T, 1 - 1 / q)``:
straight-line amortisation over ``T`` years, or faster when price-performance
improves by ``q`` a year, so that a chip's value falls by ``1 - 1/q`` a year
(1 GW at $50B over 5 years: $10B a year; with ``q = 1.4``: $14.3B a year).
The compute arrives ``lead_time`` years after it is committed, so it is paid from
revenue at that year.

* largest affordable commitment at revenue percentile ``p``: ``K_p = s (1 - g) R_p / d``;
* ``P(cannot pay | K) = P(R < d K / (s (1 - g)))``;
* newsvendor: demand in capex units ``N = s (1 - g) R / d``; buying ``K < N`` loses
  revenue ``(N - K) d / (s (1 - g))`` and with it gross profit (cost ``c_u = g d / (s (1 - g))``
  per dollar short), buying ``K > N`` leaves ``(K - N)`` idle at ``c_o = d`` a year per dollar;
  expected cost is minimised at the ``c_u / (c_u + c_o)`` quantile of ``N`` (the critical fractile).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from scaling.checks import check_gross_margin
from scaling.deprecation import deprecated_alias
from scaling.errors import ScalingError


# ----------------------------------------------------------------------------- validation
def _check_fraction(name: str, value: float, where: str, *, low_open: bool = True) -> float:
    v = float(value)
    ok = (0.0 < v <= 1.0) if low_open else (0.0 <= v <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ScalingError(f"The {name!r} parameter of {where} must be in {interval}. Got {value!r} instead.")
    return v


def _check_positive(name: str, value: float, where: str, *, allow_zero: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ScalingError(f"The {name!r} parameter of {where} must be {rule}. Got {value!r} instead.")
    return v


def _check_percentile(p: float, where: str) -> float:
    if not 0.0 < float(p) < 100.0:
        raise ScalingError(f"The 'percentile' parameter of {where} must be in (0, 100). Got {p!r} instead.")
    return float(p)


# ----------------------------------------------------------------------------- closed forms
def annual_cost_rate(amortisation_years: float = 5.0, efficiency_gain: float = 1.0) -> float:
    """``d = max(1 / T, 1 - 1 / q)``: yearly cost per dollar of compute capex."""
    t = _check_positive("amortisation_years", amortisation_years, "annual_cost_rate")
    q = _check_positive("efficiency_gain", efficiency_gain, "annual_cost_rate")
    if q < 1.0:
        raise ScalingError(f"The 'efficiency_gain' parameter must be >= 1 (price-performance per year). Got {q!r}.")
    return max(1.0 / t, 1.0 - 1.0 / q)


def affordable_compute(revenue: Any, gross_margin: float = 0.8, compute_share: float = 1.0) -> Any:
    """Yearly compute spend that revenue pays for: ``s (1 - g) R``."""
    g = check_gross_margin(gross_margin, "affordable_compute")
    s = _check_fraction("compute_share", compute_share, "affordable_compute")
    return s * (1.0 - g) * np.asarray(revenue)


def supported_revenue(annual_compute: Any, gross_margin: float = 0.8, compute_share: float = 1.0) -> Any:
    """Revenue a yearly compute spend supports: ``C / (s (1 - g))`` ($20B at 80% margin -> $100B)."""
    g = check_gross_margin(gross_margin, "supported_revenue")
    s = _check_fraction("compute_share", compute_share, "supported_revenue")
    return np.asarray(annual_compute) / (s * (1.0 - g))


# ----------------------------------------------------------------------------- planner
@dataclass
class Plan:
    """Output of :func:`plan_year`; every quantity in dollars (capex, or per year where stated)."""

    year: float
    percentile: float
    cost_rate: float
    affordable_commitment: float
    newsvendor_commitment: float
    critical_fractile: float
    curve: pd.DataFrame
    summary: pd.DataFrame
    demand_draws: np.ndarray

    def __str__(self) -> str:
        return self.summary.to_string(index=False)


def plan_year(
    revenue_draws: Any,
    *,
    year: float,
    gross_margin: float = 0.8,
    compute_share: float = 1.0,
    amortisation_years: float = 5.0,
    efficiency_gain: float = 1.0,
    percentile: float = 10.0,
    lead_time: float = 1.5,
    underbuy_cost: float | None = None,
    overbuy_cost: float | None = None,
    commitments: Sequence[float] | None = None,
) -> Plan:
    """How much compute to commit now, paid from revenue at ``year`` (see module doc for formulas): the
    plan for one year's revenue draws (:func:`scaling.run_plan` runs the whole pipeline, as ``scaling plan``
    does; ``plan`` is this function's deprecated name).

    Parameters
    ----------
    revenue_draws : revenue draws (dollars a year) at the year the compute arrives.
    year : that year (the commitment is made ``lead_time`` years earlier; reported only).
    percentile : revenue percentile that must still pay (default 10: a pessimistic year).
    underbuy_cost, overbuy_cost : cost per dollar of capex short / idle per year; default
        ``g d / (s (1 - g))`` (lost gross profit) and ``d`` (idle compute's yearly cost).
    commitments : capex values for the P(cannot pay) curve (default: 60 values up to 3x the median demand).
    """
    where = "plan_year"
    r = np.asarray(revenue_draws, dtype=float).reshape(-1)
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ScalingError("The 'revenue_draws' of plan_year must be finite, non-negative dollar amounts.")
    g = check_gross_margin(gross_margin, where)
    s = _check_fraction("compute_share", compute_share, where)
    p = _check_percentile(percentile, where)
    _check_positive("lead_time", lead_time, where, allow_zero=True)
    d = annual_cost_rate(amortisation_years, efficiency_gain)
    pays = s * (1.0 - g)
    demand = pays * r / d  # capex that revenue r can carry
    affordable = float(np.percentile(demand, p))
    c_u = g * d / pays if underbuy_cost is None else _check_positive("underbuy_cost", underbuy_cost, where)
    c_o = d if overbuy_cost is None else _check_positive("overbuy_cost", overbuy_cost, where)
    fractile = c_u / (c_u + c_o)
    newsvendor = float(np.quantile(demand, fractile))
    ks = np.asarray(commitments if commitments is not None else np.linspace(0, 3 * np.median(demand), 61), float)
    if np.any(ks < 0):
        raise ScalingError("The 'commitments' of plan_year must be >= 0 (dollars of capex).")
    short = np.maximum(demand[None, :] - ks[:, None], 0.0)
    idle = np.maximum(ks[:, None] - demand[None, :], 0.0)
    curve = pd.DataFrame(
        {
            "commitment": ks,
            "annual_cost": ks * d,
            "p_cannot_pay": np.mean(demand[None, :] < ks[:, None], axis=1),
            "expected_revenue_lost": np.mean(short * d / pays, axis=1),
            "expected_idle_cost": np.mean(idle * d, axis=1),
            "expected_cost": np.mean(c_u * short + c_o * idle, axis=1),
        }
    )
    summary = pd.DataFrame(
        [
            {"quantity": "arrival year (commit lead_time earlier)", "value": year},
            {"quantity": f"revenue p{p:g} at arrival ($/yr)", "value": float(np.percentile(r, p))},
            {"quantity": "revenue median at arrival ($/yr)", "value": float(np.median(r))},
            {"quantity": "yearly cost per $ of capex (d)", "value": d},
            {"quantity": f"largest commitment affordable at p{p:g} ($ capex)", "value": affordable},
            {"quantity": "  its yearly cost ($/yr)", "value": affordable * d},
            {"quantity": "newsvendor commitment ($ capex)", "value": newsvendor},
            {"quantity": "  critical fractile c_u/(c_u+c_o)", "value": fractile},
            {"quantity": "  P(cannot pay) at it", "value": float(np.mean(demand < newsvendor))},
        ]
    )
    return Plan(float(year), p, d, affordable, newsvendor, fractile, curve, summary, demand)


#: Deprecated name of :func:`plan_year` (0.2's ``scaling.plan``).
plan = deprecated_alias(plan_year, "plan")
