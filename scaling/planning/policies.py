"""Commitment policies compared on the same revenue paths, by risk and by growth.

A policy sets a capacity target ``X(t)`` (revenue a year the fleet should serve) for every
year of the horizon from the forecast at the start; the fleet is topped up to it each year
(:func:`~scaling.planning.fleet.size_to_targets`). ``Q_p(t)`` is the ``p``-th percentile
over paths of revenue ``D(t)``; each policy has one knob, swept over a grid of levels:

=============  ======================================  =====================================
policy         target ``X(t)``                         knob (default grid, 20 levels)
=============  ======================================  =====================================
percentile     ``Q_p(t)`` (the 10th-percentile rule)     ``p``: 1, 2.5, 5, 10, 15, ..., 80, 90, 95
median         ``m Q_50(t)``                             ``m``: ``2^-2 .. 2^1.8`` (1 at level 10)
naive          ``Q_p`` of the naive extrapolation        ``p``: as for percentile
newsvendor     ``Q_f(t)``, ``f = g / (g + r s (1 - g))``  ``r``: ``2^-2 .. 2^1.8`` (1 at level 10)
growth         ``Q_50(0) c^t``                           ``c``: ``2^0 .. 2^4.75`` (x1 .. x27 a year)
=============  ======================================  =====================================

* naive: the revenue series extrapolated on its own (``naive`` draws, e.g. ``naive_revenue``
  of :func:`~scaling.planning.run_plan`: "YOLO" when read at its median); without them,
  each path's first year grown at the median's first-year growth, ``D_i(0) G^t``,
  ``G = Q_50(1) / Q_50(0)``.
* newsvendor: a dollar of revenue turned away loses its gross profit ``g``; a dollar a year of
  idle capacity costs ``s (1 - g)`` (its yearly cost at ``k``'s default), weighted by ``r``;
  the target is the critical fractile ``f`` of revenue (one-year newsvendor, held each year).

For each policy and level, over paths: ``p_cannot_pay`` (P(the balance is negative in any
year), :mod:`scaling.planning.fleet`), ``expected_gross_profit`` (cumulative, dollars),
``expected_revenue_lost`` (cumulative, dollars), ``expected_idle_capacity`` (capacity paid for
and unused, revenue a year summed over years), draws of the worst year's cash and of
cumulative gross profit, and the peak revenue the commitments require. ``on_frontier``
marks the levels no other (policy, level) beats on both risk and expected gross profit.
All of it is one jitted JAX program (paths x policies x levels x years).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from scaling.errors import ScalingError
from scaling.planning.fleet import (
    FleetAssumptions,
    check_paths,
    cohort_tables,
    evaluate_commitments,
    fleet_of,
    outcomes,
    size_to_targets,
    summarise,
)

POLICIES = ("percentile", "median", "naive", "newsvendor", "growth")

KNOBS = {
    "percentile": "percentile of forecast revenue",
    "median": "multiple of the median forecast",
    "naive": "percentile of the naive extrapolation",
    "newsvendor": "weight r on the cost of idle compute",
    "growth": "capacity growth factor per year",
}

_PCT = np.array([1, 2.5, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 90, 95], dtype=float)
_MULT = 2.0 ** np.linspace(-2.0, 1.8, 20)


def default_levels() -> np.ndarray:
    """The knob grid (policy, level) of the module doc, 5 x 20."""
    return np.stack([_PCT, _MULT, _PCT, _MULT, 2.0 ** np.linspace(0.0, 4.75, 20)])


def policy_targets(demand: Any, naive: Any, levels: Any, v: Any) -> Any:
    """Capacity targets (policy, level, year) in revenue a year (module doc table)."""
    horizon = demand.shape[-1]
    median = jnp.median(demand, axis=0)
    g, budget = v[8], v[5]
    fractile = g / (g + levels[3] * budget)
    return jnp.stack(
        [
            jnp.quantile(demand, levels[0] / 100.0, axis=0),
            levels[1][:, None] * median[None, :],
            jnp.quantile(naive, levels[2] / 100.0, axis=0),
            jnp.quantile(demand, fractile, axis=0),
            median[0] * levels[4][:, None] ** jnp.arange(horizon, dtype=jnp.float64)[None, :],
        ]
    )


def _program(demand: Any, naive: Any, levels: Any, v: Any) -> dict[str, Any]:
    live, value = cohort_tables(demand.shape[-1], v)
    targets = policy_targets(demand, naive, levels, v)
    arrivals = size_to_targets(targets, value, v)
    capacity, cost = fleet_of(arrivals, live, value, v)
    out = summarise(outcomes(demand, capacity, cost, v), cost, v)
    return out | {"arrivals": arrivals, "capacity": capacity, "fleet_cost": cost, "target": targets}


#: The whole comparison as one compiled program (paths x policies x levels x years).
policy_program = jax.jit(_program)


def _naive_default(demand: np.ndarray) -> np.ndarray:
    med = np.median(demand, axis=0)
    growth = med[1] / med[0] if demand.shape[1] > 1 and med[0] > 0 else 1.0
    return demand[:, :1] * growth ** np.arange(demand.shape[1])[None, :]


def frontier(risk: np.ndarray, reward: np.ndarray) -> np.ndarray:
    """True where no other point has lower-or-equal risk and higher-or-equal reward (one strictly)."""
    r, w = np.asarray(risk).reshape(-1), np.asarray(reward).reshape(-1)
    better = (
        (r[None, :] <= r[:, None])
        & (w[None, :] >= w[:, None])
        & ((r[None, :] < r[:, None]) | (w[None, :] > w[:, None]))
    )
    return ~np.any(better, axis=1).reshape(np.shape(risk))


def compare_policies(
    paths: Any,
    years: Any,
    *,
    naive: Any | None = None,
    assumptions: FleetAssumptions | None = None,
    levels: Any | None = None,
    chosen: tuple[str, float] = ("percentile", 10.0),
) -> xr.DataTree:
    """Every policy at every level on the same revenue paths (module doc), as a DataTree of draws.

    ``paths``: revenue (path, year) in dollars a year at consecutive whole ``years`` (the first is
    the first year compute committed now arrives); ``naive``: naive-extrapolation draws at the
    same years. Groups: ``policies`` (policy, level), ``draws`` (sample, policy, level),
    ``schedule`` (policy, level, year) and ``chosen``: the fleet on every path under the policy
    and knob value ``chosen`` (:func:`~scaling.planning.fleet.evaluate_commitments`).
    """
    a = assumptions or FleetAssumptions()
    r, y = check_paths(paths, years, "compare_policies")
    if naive is None:
        nv = _naive_default(r)
    else:
        nv, _ = check_paths(naive, y, "compare_policies (naive)")
    lv = default_levels() if levels is None else np.asarray(levels, dtype=np.float64)
    if lv.ndim != 2 or lv.shape[0] != len(POLICIES) or not np.all(np.isfinite(lv)):
        raise ScalingError(
            f"compare_policies: 'levels' must be a finite ({len(POLICIES)}, n) array (one row per policy "
            f"{list(POLICIES)}). Got shape {lv.shape}."
        )
    if np.any((lv[[0, 2]] <= 0) | (lv[[0, 2]] >= 100)) or np.any(lv[[1, 3]] <= 0) or np.any(lv[4] < 0):
        raise ScalingError(
            "compare_policies: percentile levels must be in (0, 100), multiples and weights > 0, growth factors >= 0."
        )
    if a.vendor_year >= y.size:
        raise ScalingError(f"compare_policies: 'vendor_year' {a.vendor_year} is past the {y.size}-year horizon.")
    name, knob = chosen
    if name not in POLICIES:
        raise ScalingError(f"compare_policies: 'chosen' policy {name!r} is not one of {list(POLICIES)}.")
    row = POLICIES.index(name)
    col = int(np.argmin(np.abs(lv[row] - float(knob))))
    with jax.enable_x64(True):
        res = {k: np.asarray(x) for k, x in policy_program(r, nv, lv, a.vector()).items()}
    coords = {"policy": list(POLICIES), "level": np.arange(lv.shape[1])}
    pol = xr.Dataset(
        {
            "knob": (("policy", "level"), lv),
            "on_frontier": (("policy", "level"), frontier(res["p_cannot_pay"], res["expected_gross_profit"])),
        }
        | {
            n: (("policy", "level"), res[n])
            for n in (
                "p_cannot_pay",
                "expected_gross_profit",
                "expected_revenue_lost",
                "expected_idle_capacity",
                "peak_required_revenue",
            )
        }
        | {"worst_year_cash_p10": (("policy", "level"), np.percentile(res["worst_year_cash"], 10, axis=0))},
        coords=coords,
        attrs={"knobs": json.dumps(KNOBS)},
    )
    draws = xr.Dataset(
        {
            n: (("sample", "policy", "level"), res[n])
            for n in ("cannot_pay", "cumulative_gross_profit", "revenue_lost", "worst_year_cash")
        },
        coords=coords | {"sample": np.arange(r.shape[0])},
    )
    sched = xr.Dataset(
        {n: (("policy", "level", "year"), res[n]) for n in ("arrivals", "capacity", "fleet_cost", "target")}
        | {"required_revenue": (("policy", "level", "year"), res["fleet_cost"] / a.budget_share)},
        coords=coords | {"year": y, "committed_in": ("year", y - a.lead_time)},
    )
    fleet = evaluate_commitments(r, y, res["arrivals"][row, col], a)
    fleet.attrs.update({"policy": name, "knob": float(lv[row, col])})
    tree = xr.DataTree.from_dict({"policies": pol, "draws": draws, "schedule": sched, "chosen": fleet})
    tree.attrs.update(
        {"kind": "fleet", "assumptions": json.dumps(asdict(a)), "assumptions_text": json.dumps(a.describe())}
    )
    return tree


def plan_policies(
    result: Any,
    *,
    assumptions: FleetAssumptions | None = None,
    levels: Any | None = None,
    chosen: tuple[str, float] = ("percentile", 10.0),
    years: int | None = None,
) -> xr.DataTree:
    """:func:`compare_policies` on a :func:`~scaling.planning.run_plan` result's revenue paths.

    The horizon is ``years`` whole years (default: to the cone's last) from the first the compute
    can arrive (the forecast's first year plus ``lead_time``); paths are ``revenue_path``, the
    naive policy reads ``naive_revenue``.
    """
    a = assumptions or FleetAssumptions()
    der = result.tree["derived"]
    if "revenue_path" not in der:
        raise ScalingError("plan_policies needs a plan with revenue paths ('revenue_path'); rerun run_plan.")
    grid = der["year"].values
    first = float(np.ceil(grid[0] - 1e-9)) + a.lead_time
    last = np.floor(grid[-1] + 1e-9)
    if years is not None:
        if isinstance(years, bool) or int(years) != years or years < 1:
            raise ScalingError(f"plan_policies: 'years' must be a whole number >= 1. Got {years!r}.")
        if first + years - 1 > last:
            raise ScalingError(
                f"plan_policies: {years} years of arrivals from {first:g} need the cone to {first + years - 1:g}; "
                f"it ends in {grid[-1]:g}. Run the plan to that horizon or ask for fewer years."
            )
        last = first + years - 1
    years = np.arange(first, last + 1.0)
    if years.size < 2:
        raise ScalingError(
            f"plan_policies: the cone ends in {grid[-1]:g}, before two years of arrivals from {first:g}; "
            "run the plan to a later horizon or shorten lead_time."
        )
    cols = [int(np.argmin(np.abs(grid - y))) for y in years]
    paths = der["revenue_path"].values[:, cols]
    naive = der["naive_revenue"].values[:, cols]
    return compare_policies(paths, years, naive=naive, assumptions=a, levels=levels, chosen=chosen)


#: Rows of :func:`policy_table`: (policy, knob value, what it is).
REFERENCE = (
    ("percentile", 10.0, "10th-percentile rule"),
    ("percentile", 50.0, "median of the forecast"),
    ("naive", 50.0, "naive extrapolation, median (YOLO)"),
    ("newsvendor", 1.0, "newsvendor fractile"),
    ("growth", 2.0, "capacity x2 a year"),
)


def policy_table(tree: xr.DataTree) -> Any:
    """One row per reference policy (:data:`REFERENCE`, at the nearest level of its grid), money in $B."""
    import pandas as pd

    pol = tree["policies"].to_dataset()
    rows = []
    for name, knob, what in REFERENCE:
        p = pol.sel(policy=name)
        j = int(np.argmin(np.abs(p["knob"].values - knob)))
        q = p.isel(level=j)
        rows.append(
            {
                "policy": f"{name} {float(q['knob']):.3g}",
                "what": what,
                "P(cannot pay)": float(q["p_cannot_pay"]),
                "E cumulative gross profit ($B)": float(q["expected_gross_profit"]) / 1e9,
                "E revenue turned away ($B)": float(q["expected_revenue_lost"]) / 1e9,
                "E idle capacity ($B)": float(q["expected_idle_capacity"]) / 1e9,
                "worst year's cash p10 ($B)": float(q["worst_year_cash_p10"]) / 1e9,
                "peak revenue required ($B/yr)": float(q["peak_required_revenue"]) / 1e9,
                "on frontier": bool(q["on_frontier"]),
            }
        )
    return pd.DataFrame(rows)
