"""End to end, as draws (:func:`run_plan`): the capability forecast -> the revenue mapping -> the
cone of revenue by year and its correlated paths -> the compute plan at the year the compute
arrives -> the model-as-a-company P&L. Every intermediate is kept in the result's DataTree."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.checks import check_gross_margin, check_seed
from scaling.deprecation import renamed
from scaling.errors import ScalingError
from scaling.infer.sampler import Sampler, fit_kwargs_alias
from scaling.planning.compute import (
    Plan,
    _check_fraction,
    _check_percentile,
    _check_positive,
    annual_cost_rate,
    plan_year,
)
from scaling.planning.paths import _check_path_params, revenue_paths
from scaling.planning.pnl import breakeven, generation_pnl
from scaling.planning.revenue import fit_revenue_mapping, naive_revenue, revenue_from_capability


# ----------------------------------------------------------------------------- end to end
@dataclass
class PlanResult:
    """Everything :func:`run_plan` computed; ``tree`` holds all draws in its ``derived`` group."""

    tree: xr.DataTree
    cone: pd.DataFrame
    plan: Plan
    pnl: pd.DataFrame
    assumptions: list[str]


def _require_pass(fit: xr.DataTree, what: str) -> None:
    """Refuse to build a plan on a fit that fails the diagnostics gate."""
    from scaling.analysis.diagnostics import diagnose

    gate = diagnose(fit)
    if gate.status == "fail":
        raise ScalingError(
            f"The plan cannot use {what}: its fit fails the diagnostics gate ({'; '.join(gate.reasons[:4])}). "
            "Try more warm-up (num_warmup), a higher target_accept, or another seed."
        )


@renamed(fit_kwargs=fit_kwargs_alias("run_plan"))
def run_plan(
    capability: Any = "time_horizons",
    revenue: Any = "lab_revenue",
    *,
    x: str = "release_date",
    y: str = "p50_minutes",
    where: str | None = "frontier == 1",
    company: str = "Anthropic",
    start: float = 2026.0,
    horizon: float = 2030.0,
    lead_time: float = 1.5,
    gross_margin: float = 0.8,
    compute_share: float = 1.0,
    amortisation_years: float = 5.0,
    efficiency_gain: float = 1.4,
    percentile: float = 10.0,
    first_cost: float = 1e8,
    cost_growth: float = 10.0,
    shapes: Sequence[str] | None = None,
    sampler: Sampler | Mapping[str, Any] | None = None,
    fits: Mapping[str, xr.DataTree] | None = None,
    seed: int = 0,
    path_correlation: float = 0.9,
    path_walk_sd: float = 0.0,
) -> PlanResult:
    """Capability forecast -> revenue mapping -> cone of revenue -> compute plan -> P&L, as draws.

    The capability series (default: METR's frontier time horizons) is forecast with
    stacked trend shapes (``shapes``; default: the forecast's own, ``forecasting.SHAPES``);
    revenue (default: the shipped ``lab_revenue``, run-rate reports of ``company``) is
    mapped to capability at the same dates; the cone is the capability draws pushed through
    the mapping draws; the plan pays for compute arriving at ``start + lead_time``
    from the ``percentile`` of revenue then.

    The cone has no economic ceiling (market size, GDP): it grows as fast as the
    capability trend and the fitted mapping imply, and the stacked trend shapes may
    include super-exponential growth. Read its far end as "what the trends say".

    ``revenue_path`` (in the ``derived`` group) keeps each draw as a whole path, the mapping's
    scatter correlated over years (``path_correlation`` per year, random walk ``path_walk_sd``
    nats per sqrt-year; :mod:`scaling.planning.paths`), for statistics along a path.

    ``fits`` may hold trend shapes already fitted to the same capability rows (by law
    name, as :func:`~scaling.analysis.forecasting.forecast` takes them); only the others are fitted.

    ``sampler``: the NUTS settings of every fit (trend shapes, revenue mapping, naive revenue trend): a
    :class:`~scaling.infer.sampler.Sampler` or a mapping of some of its settings (``fit_kwargs`` is its
    deprecated name). ``seed``: an int or a JAX key.
    """
    from scaling.analysis.forecasting import SHAPES, forecast
    from scaling.data.preparation import as_frame

    # checked before any fitting (plan and generation_pnl check them again after minutes of sampling)
    _check_positive("lead_time", lead_time, "run_plan", allow_zero=True)
    check_gross_margin(gross_margin, "run_plan")
    _check_fraction("compute_share", compute_share, "run_plan")
    _check_percentile(percentile, "run_plan")
    annual_cost_rate(amortisation_years, efficiency_gain)
    _check_positive("first_cost", first_cost, "run_plan")
    _check_positive("cost_growth", cost_growth, "run_plan")
    _check_path_params(path_correlation, path_walk_sd, "run_plan")
    if horizon <= start + lead_time:
        raise ScalingError(f"horizon ({horizon}) must be after start + lead_time ({start + lead_time}).")
    seed = check_seed(seed, "run_plan")
    fc = forecast(
        capability,
        x=x,
        y=y,
        where=where,
        start=start,
        horizon=horizon,
        num_grid_per_year=4,
        shapes=SHAPES if shapes is None else shapes,
        sampler=sampler,
        fits=fits,
        seed=seed,
    )
    years_grid = fc.grid_years
    rev_df = as_frame(revenue)
    cap_fit = fc.fits["exponential_trend"] if "exponential_trend" in fc.fits else next(iter(fc.fits.values()))
    mapping = fit_revenue_mapping(rev_df, cap_fit, company=company, sampler=sampler, seed=seed)
    _require_pass(mapping, f"the revenue mapping (ln revenue on ln {y}, {company})")
    # the mapping was fitted to the trend's capability (its median at each report): push the trend through
    revenue_draws = revenue_from_capability(mapping, fc.stacked_mean, seed=seed)
    paths = revenue_paths(
        mapping, fc.stacked_mean, years_grid, correlation=path_correlation, walk_sd=path_walk_sd, seed=seed + 2
    )
    naive, naive_fit = naive_revenue(rev_df, years_grid, company=company, sampler=sampler, seed=seed)
    _require_pass(naive_fit, f"the revenue trend ({company})")
    arrival = start + lead_time
    j = int(np.argmin(np.abs(years_grid - arrival)))
    p = plan_year(
        revenue_draws[:, j],
        year=float(years_grid[j]),
        gross_margin=gross_margin,
        compute_share=compute_share,
        amortisation_years=amortisation_years,
        efficiency_gain=efficiency_gain,
        percentile=percentile,
        lead_time=lead_time,
    )
    pnl = generation_pnl(
        revenue_draws,
        years_grid,
        first_year=start,
        first_cost=first_cost,
        cost_growth=cost_growth,
        gross_margin=gross_margin,
    )
    marks = [int(np.argmin(np.abs(years_grid - yr))) for yr in np.arange(np.ceil(start), horizon + 1e-9)]
    cone = pd.DataFrame(
        {"year": years_grid[marks]}
        | {f"revenue_p{q}": np.percentile(revenue_draws[:, marks], q, axis=0) for q in (10, 50, 90)}
        | {f"naive_p{q}": np.percentile(naive[:, marks], q, axis=0) for q in (10, 50, 90)}
    )
    n = min(revenue_draws.shape[0], naive.shape[0])
    derived = xr.Dataset(
        {
            "capability": (("sample", "year"), fc.stacked_mean[:n]),
            "revenue": (("sample", "year"), revenue_draws[:n]),
            "revenue_path": (("sample", "year"), paths[:n]),
            "naive_revenue": (("sample", "year"), naive[:n]),
            "affordable_capex_demand": (("sample",), p.demand_draws[:n]),
            "p_cannot_pay": (("commitment",), p.curve["p_cannot_pay"].to_numpy()),
        },
        coords={"year": years_grid, "commitment": p.curve["commitment"].to_numpy(), "sample": np.arange(n)},
    )
    assumptions = fc.assumptions + [
        f"revenue mapping: ln R linear in ln {y}, fitted to {company}'s run-rate reports "
        f"(revenue x{2 ** float(mapping.posterior['revenue_elasticity'].median()):.2f} per doubling of {y})",
        f"compute arrives {lead_time:g} years after commitment (paid from revenue in {years_grid[j]:.1f})",
        f"gross margin {gross_margin:.0%}, compute share of cost of revenue {compute_share:.0%}, "
        f"amortisation {amortisation_years:g} years, price-performance x{efficiency_gain:g}/year "
        f"(yearly cost {p.cost_rate:.1%} of capex)",
        f"pessimistic scenario: revenue percentile {percentile:g}",
        f"revenue paths: the mapping's scatter correlated {path_correlation:g} from one year to the next"
        + (f", plus a random walk of {path_walk_sd:g} nats per sqrt-year" if path_walk_sd else ""),
        f"model generations: first costs ${first_cost / 1e9:g}B in {start:g}, each {cost_growth:g}x the last; "
        + breakeven(pnl),
    ]
    from scaling.provenance import canonical_json, versions

    tree = xr.DataTree.from_dict({"derived": derived, "revenue_mapping": mapping["posterior"].to_dataset()})
    tree.attrs.update(
        {
            "kind": "plan",
            "assumptions": canonical_json(assumptions),
            "summary": canonical_json(p.summary.to_dict(orient="records")),
            "versions": canonical_json(versions()),
            "seed": int(seed),
        }
    )
    return PlanResult(tree, cone, p, pnl, assumptions)
