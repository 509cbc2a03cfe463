"""A compute fleet over years: cohorts that age, revenue that compute caps, cash that must pay.

Years ``t = 0 .. H-1`` are the calendar years ``y_0 .. y_0 + H - 1`` (whole years) in which the
plan's compute is in service; ``y_0`` is the first year compute committed now can arrive.
All money is in dollars (capex) or dollars a year (flows); revenue paths ``D_i(t)`` (demand:
what customers would pay in year ``t`` on path ``i``, see :mod:`scaling.planning.paths`).

Cohorts. ``K_a`` dollars of capex arriving in year ``a`` are committed in year
``y_0 + a - L`` (``L = lead_time``, whole years). A cohort is paid like a lease or a loan,
``K_a / T`` a year for ``T = amortisation_years`` years from its arrival, plus operating cost
``o K_a`` a year (``o = opex_rate``: power, sites, staff), and retired after ``T`` years.
Its economic value (what it earns relative to new chips) falls by the price-performance
gain ``q = efficiency_gain`` a year, so in year ``t`` it can serve revenue::

    cap_a(t) = k K_a q^-(t - a)        for a <= t < a + T (else 0)
    cost_a(t) = (1 / T + o) K_a        for a <= t < a + T (else 0)

``k = revenue_per_capex`` (revenue a year one dollar of new capex serves) defaults to the
value at which a fully used cohort pays for itself over its life at the target gross margin
``g``, its cost being the compute share ``s`` of the cost of revenue ``(1 - g) R``::

    k = (1 / T + o) T / (s (1 - g) sum_{j < T} q^-j)

(``q = 1``: ``k = (1 / T + o) / (s (1 - g))``). So at ``g = 0.8``, ``s = 1``, ``q = 1``, $20B a year
of compute serves $100B of revenue, and 1 GW at $50B over 5 years costs $10B a year and serves
$50B a year; with ``q = 1.4`` a new cohort serves 1.75x that in its first year and
``1.4^-4 = 0.26`` of it in its fifth.

Revenue and cash, per path ``i`` and year ``t`` (fleet ``Cap(t) = sum_a cap_a(t)``,
``C(t) = sum_a cost_a(t)``)::

    served   S_i(t) = min(D_i(t), Cap(t))                (compute caps revenue)
    lost     D_i(t) - S_i(t)                             (revenue turned away: under-buying)
    idle     Cap(t) - S_i(t)                             (capacity paid for, unused: over-buying)
    gross profit  G_i(t) = (1 - (1 - s)(1 - g)) S_i(t) - C(t)   (non-compute cost of revenue, then the fleet)
    cash     X_i(t) = b S_i(t) - C(t) + F(t)
    balance  B_i(t) = B_0 + sum_{u <= t} X_i(u);        cannot pay in year t:  B_i(t) < 0

(``B < 0`` beyond rounding: by more than a billionth of the year's fleet bill).

``b = pay_share`` is the share of revenue served that pays for the fleet, by default the
compute budget ``s (1 - g)`` (so for one year, no reserves and no decay, ``P(cannot pay)``
is :func:`~scaling.planning.plan`'s ``P(R < d K / (s (1 - g)))``); ``b = 1`` lets all revenue
pay the fleet (a lab that spends its revenue on compute). ``F(t)`` is vendor financing: a
vendor that takes an equity stake pays ``vendor_financing`` dollars in compute in year
``vendor_year`` (index into the horizon, default 0): with $10B up front a 1 GW ($10B a year)
cohort arriving in year 0 is payable at ``b = 1`` if revenue reaches $10B a year by year 1.
``B_0 = cash`` are reserves at the start (default 0).

Per path the plan's outcomes are draws: ``cannot_pay = any_t B_i(t) < 0``, cumulative gross
profit ``sum_t G_i(t)``, revenue lost ``sum_t (D - S)``, the worst year's cash
``min_t X_i(t)``; per plan (the same on every path) the revenue the commitments require,
``C(t) / (s (1 - g))``, and its peak over the horizon. Commitments are an open-loop schedule
fixed from the forecast at the start (no re-planning as revenue is observed); no fleet in
service at the start is modelled. Arrays are float64 (``jax.enable_x64``).

Defaults (:class:`FleetAssumptions`): ``g = 0.8``, ``s = 1``, ``T = 5`` years, ``q = 1.4`` a year,
``o = 0``, ``L = 1`` year, ``b = s (1 - g)``, ``k`` as above, no vendor financing, ``B_0 = 0``.
The vendor's equity stake itself (dilution) is not valued. The one-year planner's cost rate
``d = max(1 / T, 1 - 1 / q)`` (:mod:`scaling.planning.compute`) folds value loss into cost; here
value loss is explicit, cohort by cohort, and costs follow the financing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from scaling.checks import check_gross_margin
from scaling.errors import ScalingError


@dataclass(frozen=True)
class FleetAssumptions:
    """The fleet's economics (module doc for the formulas); validated on construction."""

    gross_margin: float = 0.8
    compute_share: float = 1.0
    amortisation_years: int = 5
    efficiency_gain: float = 1.4
    opex_rate: float = 0.0
    lead_time: int = 1
    pay_share: float | None = None
    revenue_per_capex: float | None = None
    vendor_financing: float = 0.0
    vendor_year: int = 0
    cash: float = 0.0

    def __post_init__(self) -> None:
        w = "FleetAssumptions"
        check_gross_margin(self.gross_margin, w)
        if not 0.0 < float(self.compute_share) <= 1.0:
            raise ScalingError(
                f"{w}: 'compute_share' (compute's share of the cost of revenue) must be in (0, 1]. "
                f"Got {self.compute_share!r}."
            )
        for name in ("amortisation_years", "lead_time", "vendor_year"):
            v = getattr(self, name)
            low = 1 if name == "amortisation_years" else 0
            if isinstance(v, bool) or int(v) != v or v < low:
                raise ScalingError(f"{w}: '{name}' must be a whole number of years >= {low}. Got {v!r}.")
        if not float(self.efficiency_gain) >= 1.0:
            raise ScalingError(
                f"{w}: 'efficiency_gain' (price-performance gain per year) must be >= 1 (1 = chips keep "
                f"their value). Got {self.efficiency_gain!r}."
            )
        for name in ("opex_rate", "vendor_financing", "cash"):
            v = float(getattr(self, name))
            if not np.isfinite(v) or v < 0:
                raise ScalingError(f"{w}: '{name}' must be finite and >= 0. Got {getattr(self, name)!r}.")
        if self.pay_share is not None and not 0.0 < float(self.pay_share) <= 1.0:
            raise ScalingError(
                f"{w}: 'pay_share' (share of revenue served that pays the fleet) must be in (0, 1], or None "
                f"for the compute budget s (1 - g). Got {self.pay_share!r}."
            )
        if self.revenue_per_capex is not None and not float(self.revenue_per_capex) > 0:
            raise ScalingError(f"{w}: 'revenue_per_capex' must be > 0 or None. Got {self.revenue_per_capex!r}.")

    @property
    def budget_share(self) -> float:
        """``s (1 - g)``: share of revenue budgeted for compute at the target margin."""
        return float(self.compute_share) * (1.0 - float(self.gross_margin))

    @property
    def cost_rate(self) -> float:
        """``1 / T + o``: a live cohort's yearly cost per dollar of capex."""
        return 1.0 / int(self.amortisation_years) + float(self.opex_rate)

    @property
    def k(self) -> float:
        """Revenue a year one dollar of new capex serves (default: pays for itself over its life, module doc)."""
        if self.revenue_per_capex is not None:
            return float(self.revenue_per_capex)
        life = int(self.amortisation_years)
        decay = sum(float(self.efficiency_gain) ** -j for j in range(life))
        return self.cost_rate * life / (self.budget_share * decay)

    @property
    def b(self) -> float:
        return self.budget_share if self.pay_share is None else float(self.pay_share)

    def vector(self) -> np.ndarray:
        """What the vectorised program reads: k, 1/T+o, q, b, contribution share, s(1-g), B0, F, g, T, vendor year."""
        contribution = 1.0 - (1.0 - float(self.compute_share)) * (1.0 - float(self.gross_margin))
        return np.array(
            [self.k, self.cost_rate, float(self.efficiency_gain), self.b, contribution, self.budget_share]
            + [float(self.cash), float(self.vendor_financing), float(self.gross_margin)]
            + [float(self.amortisation_years), float(self.vendor_year)],
            dtype=np.float64,
        )

    def describe(self) -> list[str]:
        """The assumptions in words (for reports)."""
        return [
            f"gross margin {self.gross_margin:.0%}, compute {self.compute_share:.0%} of the cost of revenue: "
            f"a dollar of revenue budgets ${self.budget_share:.2f} for compute",
            f"cohorts paid over {self.amortisation_years} years from arrival "
            f"({self.cost_rate:.1%} of capex a year incl. opex {self.opex_rate:.1%}), then retired",
            f"compute arrives {self.lead_time} year(s) after it is committed",
            f"a cohort's value falls x{self.efficiency_gain:g} a year (price-performance of new chips); "
            f"new capex serves ${self.k:.2f} of revenue a year per dollar",
            f"{self.b:.0%} of revenue served pays the fleet; reserves ${self.cash / 1e9:g}B; vendor financing "
            f"${self.vendor_financing / 1e9:g}B in year {self.vendor_year} of the horizon",
            "commitments fixed from the forecast at the start (no re-planning); no fleet in service at the start",
        ]


def cohort_tables(horizon: int, v: Any) -> tuple[Any, Any]:
    """``live[t, a]`` (1 while cohort ``a`` is in service in year ``t``) and ``value[t, a] = live q^-(t-a)``."""
    t = jnp.arange(horizon)[:, None]
    a = jnp.arange(horizon)[None, :]
    age = (t - a).astype(jnp.float64)
    live = ((age >= 0) & (age < v[9])).astype(jnp.float64)
    return live, live * jnp.power(v[2], -jnp.maximum(age, 0.0))


def fleet_of(arrivals: Any, live: Any, value: Any, v: Any) -> tuple[Any, Any]:
    """Fleet capacity (revenue a year) and yearly cost for arrivals (..., year)."""
    return v[0] * arrivals @ value.T, v[1] * arrivals @ live.T


def size_to_targets(targets: Any, value: Any, v: Any) -> Any:
    """Arrivals (..., year) that bring the fleet's capacity up to ``targets`` (revenue a year) each year.

    ``K_t = max(0, X_t - sum_{a < t} cap_a(t)) / k``: each year tops up what earlier cohorts,
    aged and decayed, no longer serve (never selling compute when they serve more).
    """
    horizon = targets.shape[-1]
    k = v[0]
    arrivals = jnp.zeros_like(targets)
    for t in range(horizon):
        have = k * jnp.sum(arrivals * value[t], axis=-1)
        arrivals = arrivals.at[..., t].set(jnp.maximum(targets[..., t] - have, 0.0) / k)
    return arrivals


def outcomes(demand: Any, capacity: Any, cost: Any, v: Any) -> dict[str, Any]:
    """Per path outcomes; ``demand`` (path, year), ``capacity``/``cost`` (..., year) -> (path, ..., [year])."""
    horizon = demand.shape[-1]
    d = demand.reshape(demand.shape[:1] + (1,) * (capacity.ndim - 1) + demand.shape[1:])
    served = jnp.minimum(d, capacity)
    financing = v[7] * (jnp.arange(horizon) == v[10])
    cash = v[3] * served - cost + financing
    balance = v[6] + jnp.cumsum(cash, axis=-1)
    return {
        "served": served,
        "cash": cash,
        "balance": balance,
        "gross_profit": v[4] * served - cost,
        "lost": d - served,
        "idle": capacity - served,
    }


def summarise(out: dict[str, Any], cost: Any, v: Any) -> dict[str, Any]:
    """Draws and expectations over paths of :func:`outcomes` (years summed, worst year, any year)."""
    cannot = jnp.any(out["balance"] < -1e-9 * cost, axis=-1)
    gp = jnp.sum(out["gross_profit"], axis=-1)
    lost = jnp.sum(out["lost"], axis=-1)
    worst = jnp.min(out["cash"], axis=-1)
    return {
        "cannot_pay": cannot,
        "cumulative_gross_profit": gp,
        "revenue_lost": lost,
        "idle_capacity": jnp.sum(out["idle"], axis=-1),
        "worst_year_cash": worst,
        "final_balance": out["balance"][..., -1],
        "p_cannot_pay": jnp.mean(cannot.astype(jnp.float64), axis=0),
        "expected_gross_profit": jnp.mean(gp, axis=0),
        "expected_revenue_lost": jnp.mean(lost, axis=0),
        "expected_idle_capacity": jnp.mean(jnp.sum(out["idle"], axis=-1), axis=0),
        "peak_required_revenue": jnp.max(cost, axis=-1) / v[5],
    }


def check_paths(paths: Any, years: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Revenue paths (path, year) in dollars a year at whole, consecutive ``years``."""
    r = np.asarray(paths, dtype=np.float64)
    if r.ndim != 2 or r.size == 0:
        raise ScalingError(f"{where}: revenue paths must be a (path, year) array. Got shape {r.shape}.")
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ScalingError(f"{where}: revenue paths must be finite, non-negative dollars a year.")
    y = np.asarray(years, dtype=np.float64).reshape(-1)
    if y.size != r.shape[1]:
        raise ScalingError(f"{where}: {y.size} years for paths of {r.shape[1]} years (columns).")
    if y.size > 1 and not np.allclose(np.diff(y), 1.0):
        raise ScalingError(
            f"{where}: the fleet is yearly; 'years' must be consecutive whole years (got {y.tolist()}). "
            "Select yearly columns of the cone first."
        )
    return r, y


def evaluate_commitments(
    paths: Any, years: Any, arrivals: Any, assumptions: FleetAssumptions | None = None
) -> xr.Dataset:
    """Outcomes of one commitment schedule on every revenue path, as draws.

    ``arrivals``: capex (dollars) arriving in each of ``years`` (the horizon's first year is the
    first arrival year; each is committed ``lead_time`` years earlier). Returns per-path
    (sample) and per-path-and-year (sample, year) draws and the plan's yearly cost,
    capacity and required revenue (year), in dollars or dollars a year.
    """
    a = assumptions or FleetAssumptions()
    r, y = check_paths(paths, years, "evaluate_commitments")
    k_arr = np.asarray(arrivals, dtype=np.float64).reshape(-1)
    if k_arr.size != y.size or not np.all(np.isfinite(k_arr)) or np.any(k_arr < 0):
        raise ScalingError(
            f"evaluate_commitments: 'arrivals' must be {y.size} finite capex values >= 0 (dollars), "
            f"one per year of the horizon. Got {k_arr.tolist()}."
        )
    if a.vendor_year >= y.size:
        raise ScalingError(f"evaluate_commitments: 'vendor_year' {a.vendor_year} is past the {y.size}-year horizon.")
    with jax.enable_x64(True):
        v = jnp.asarray(a.vector())
        live, value = cohort_tables(y.size, v)
        cap, cost = fleet_of(jnp.asarray(k_arr), live, value, v)
        out = outcomes(jnp.asarray(r), cap, cost, v)
        s = summarise(out, cost, v)
        per_year = {n: (("sample", "year"), np.asarray(out[n])) for n in ("served", "cash", "balance", "lost")}
        per_path = {
            n: (("sample",), np.asarray(s[n]))
            for n in ("cannot_pay", "cumulative_gross_profit", "revenue_lost", "worst_year_cash", "final_balance")
        }
        plan_vars = {
            "arrivals": (("year",), k_arr),
            "capacity": (("year",), np.asarray(cap)),
            "fleet_cost": (("year",), np.asarray(cost)),
            "required_revenue": (("year",), np.asarray(cost) / a.budget_share),
            "demand": (("sample", "year"), r),
        }
    ds = xr.Dataset(
        per_year | per_path | plan_vars,
        coords={"sample": np.arange(r.shape[0]), "year": y, "committed_in": ("year", y - a.lead_time)},
    )
    ds.attrs.update(
        {
            "p_cannot_pay": float(np.mean(per_path["cannot_pay"][1])),
            "peak_required_revenue": float(np.max(plan_vars["required_revenue"][1])),
            "assumptions": json.dumps(asdict(a)),
        }
    )
    return ds
