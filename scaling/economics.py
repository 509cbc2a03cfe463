"""From capability to revenue and compute commitments: the cone of uncertainty.

Every function takes and returns posterior **draws**, so uncertainty flows end to
end: capability draws -> revenue draws -> affordable compute.

Revenue mapping. Log revenue is linear in log capability,
``ln R = ln R0 + b ln(cap / cap0)``: each doubling of capability multiplies
revenue by ``2^b``. It is a :func:`~scaling.laws.power_law` of revenue against
capability (``b = -alpha``), fitted with NUTS to a revenue history against the
frontier capability at the same dates (:func:`fit_revenue_mapping`), or set by the
user as scenario parameters (:func:`scenario_revenue`). Its residual scatter ``sigma`` is part of the cone.

Affordability. With gross margin ``g`` (revenue minus cost of revenue, over
revenue) and compute's share ``s`` of the cost of revenue, revenue ``R`` pays for
``s (1 - g) R`` a year of compute (at ``g = 0.8``, ``s = 1``: $100B pays for $20B).
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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr


# ----------------------------------------------------------------------------- validation
def _check_fraction(name: str, value: float, where: str, *, low_open: bool = True) -> float:
    v = float(value)
    ok = (0.0 < v <= 1.0) if low_open else (0.0 <= v <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"The {name!r} parameter of {where} must be in {interval}. Got {value!r} instead.")
    return v


def _check_positive(name: str, value: float, where: str, *, allow_zero: bool = False) -> float:
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"The {name!r} parameter of {where} must be {rule}. Got {value!r} instead.")
    return v


def _check_percentile(p: float, where: str) -> float:
    if not 0.0 < float(p) < 100.0:
        raise ValueError(f"The 'percentile' parameter of {where} must be in (0, 100). Got {p!r} instead.")
    return float(p)


# ----------------------------------------------------------------------------- closed forms
def annual_cost_rate(amortisation_years: float = 5.0, efficiency_gain: float = 1.0) -> float:
    """``d = max(1 / T, 1 - 1 / q)``: yearly cost per dollar of compute capex."""
    t = _check_positive("amortisation_years", amortisation_years, "annual_cost_rate")
    q = _check_positive("efficiency_gain", efficiency_gain, "annual_cost_rate")
    if q < 1.0:
        raise ValueError(f"The 'efficiency_gain' parameter must be >= 1 (price-performance per year). Got {q!r}.")
    return max(1.0 / t, 1.0 - 1.0 / q)


def affordable_compute(revenue: Any, gross_margin: float = 0.8, compute_share: float = 1.0) -> Any:
    """Yearly compute spend that revenue pays for: ``s (1 - g) R``."""
    g = _check_fraction("gross_margin", gross_margin, "affordable_compute")
    s = _check_fraction("compute_share", compute_share, "affordable_compute")
    return s * (1.0 - g) * np.asarray(revenue)


def supported_revenue(annual_compute: Any, gross_margin: float = 0.8, compute_share: float = 1.0) -> Any:
    """Revenue a yearly compute spend supports: ``C / (s (1 - g))`` ($20B at 80% margin -> $100B)."""
    g = _check_fraction("gross_margin", gross_margin, "supported_revenue")
    s = _check_fraction("compute_share", compute_share, "supported_revenue")
    if g == 1.0:
        raise ValueError("With a gross margin of 1 there is no cost of revenue to spend on compute.")
    return np.asarray(annual_compute) / (s * (1.0 - g))


# ----------------------------------------------------------------------------- planner
@dataclass
class Plan:
    """Output of :func:`plan`; every quantity in dollars (capex, or per year where stated)."""

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


def plan(
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
    """How much compute to commit now, paid from revenue at ``year`` (see module doc for formulas).

    Parameters
    ----------
    revenue_draws : revenue draws (dollars a year) at the year the compute arrives.
    year : that year (the commitment is made ``lead_time`` years earlier; reported only).
    percentile : revenue percentile that must still pay (default 10: a pessimistic year).
    underbuy_cost, overbuy_cost : cost per dollar of capex short / idle per year; default
        ``g d / (s (1 - g))`` (lost gross profit) and ``d`` (idle compute's yearly cost).
    commitments : capex values for the P(cannot pay) curve (default: 60 values up to 3x the median demand).
    """
    where = "plan"
    r = np.asarray(revenue_draws, dtype=float).reshape(-1)
    if r.size == 0 or not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError("The 'revenue_draws' of plan must be finite, non-negative dollar amounts.")
    g = _check_fraction("gross_margin", gross_margin, where)
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
        raise ValueError("The 'commitments' of plan must be >= 0 (dollars of capex).")
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


# ----------------------------------------------------------------------------- revenue
def fit_revenue_mapping(
    revenue: pd.DataFrame,
    capability_fit: xr.DataTree,
    *,
    company: str | None = None,
    kind: str = "run-rate",
    **fit_kwargs: Any,
) -> xr.DataTree:
    """Fit ``ln R = ln R0 + b ln cap`` to a revenue history against frontier capability at the same dates.

    Capability at each revenue date is the posterior median of ``capability_fit``'s
    trend (a date law such as :func:`~scaling.laws.exponential_trend`). The result is a
    ``power_law`` fit of revenue against capability; ``b = -alpha`` (revenue
    multiplies by ``2^b`` per doubling of capability), stored as ``revenue_elasticity``.
    Sampled with ``target_accept=0.95`` unless ``fit_kwargs`` say otherwise (few points).
    """
    from .inference import fit
    from .prediction import predict

    df = revenue.copy()
    if company is not None:
        df = df[df["company"] == company]
    if kind is not None and "kind" in df.columns:
        df = df[df["kind"] == kind]
    if len(df) < 4:
        raise ValueError(
            f"fit_revenue_mapping needs at least 4 revenue reports; got {len(df)} (company={company!r}, kind={kind!r})."
        )
    cap = predict(capability_fit, list(df["date"])).median(("chain", "draw")).values
    data = pd.DataFrame({"capability": cap, "revenue_usd": df["revenue_usd"].to_numpy(dtype=float)})
    # a handful of points leaves sigma's posterior reaching towards 0: take smaller steps there
    fit_kwargs = {"target_accept": 0.95, **fit_kwargs}
    mapping = fit(data, "power_law", x="capability", y="revenue_usd", **fit_kwargs)
    mapping["posterior"]["revenue_elasticity"] = -mapping["posterior"]["alpha"]
    return mapping


def revenue_from_capability(
    mapping: xr.DataTree, capability_draws: np.ndarray, *, seed: int = 0, noise: bool = True
) -> np.ndarray:
    """Revenue draws (sample, year) for capability draws (sample, year), draw by draw.

    Each capability trajectory is paired with a random draw of the mapping; with
    ``noise`` the mapping's residual scatter (lognormal ``sigma``) is added.
    """
    from .forecasting import compose

    rev = compose(mapping, capability_draws, seed=seed)
    if noise:
        sigma = mapping["posterior"]["sigma"].values.reshape(-1)
        rng = np.random.default_rng(seed + 1)
        s = sigma[rng.integers(0, sigma.size, size=rev.shape[0])][:, None]
        rev = rev * np.exp(s * rng.normal(size=rev.shape))
    return rev


def scenario_revenue(
    capability_draws: np.ndarray,
    *,
    revenue_at: float,
    capability_at: float,
    factor_per_doubling: float,
    factor_sd: float = 0.0,
    sigma: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Revenue draws from a user-set mapping instead of a fitted one.

    ``R = revenue_at * (cap / capability_at)^b`` with ``b = log2(factor)``, where
    ``log2(factor)`` is drawn from ``Normal(log2(factor_per_doubling), factor_sd)`` per
    draw and a lognormal scatter ``sigma`` (nats) is added: "each doubling of
    capability multiplies revenue by about ``factor_per_doubling``".
    """
    where = "scenario_revenue"
    _check_positive("revenue_at", revenue_at, where)
    _check_positive("capability_at", capability_at, where)
    _check_positive("factor_per_doubling", factor_per_doubling, where)
    _check_positive("factor_sd", factor_sd, where, allow_zero=True)
    _check_positive("sigma", sigma, where, allow_zero=True)
    cap = np.asarray(capability_draws, dtype=float)
    rng = np.random.default_rng(seed)
    b = rng.normal(np.log2(factor_per_doubling), factor_sd, size=(cap.shape[0],) + (1,) * (cap.ndim - 1))
    return revenue_at * (cap / capability_at) ** b * np.exp(sigma * rng.normal(size=cap.shape))


def naive_revenue(
    revenue: pd.DataFrame, years: np.ndarray, *, company: str | None = None, kind: str = "run-rate", **fit_kwargs: Any
) -> tuple[np.ndarray, xr.DataTree]:
    """The revenue series extrapolated on its own (``exponential_trend``): draws (sample, year) and the fit."""
    from .forecasting import trend_draws
    from .inference import fit

    df = revenue.copy()
    if company is not None:
        df = df[df["company"] == company]
    if kind is not None and "kind" in df.columns:
        df = df[df["kind"] == kind]
    f = fit(df, "exponential_trend", x="date", y="revenue_usd", **{"target_accept": 0.95, **fit_kwargs})
    return trend_draws(f, years), f


def generation_pnl(
    revenue_draws: np.ndarray,
    years: np.ndarray,
    *,
    first_year: float,
    first_cost: float = 1e8,
    cost_growth: float = 10.0,
    gross_margin: float = 0.8,
    n_generations: int = 6,
) -> pd.DataFrame:
    """Model-as-a-company P&L: generation i is trained in year ``first_year + i`` for
    ``first_cost * cost_growth**i`` and earns the company's revenue of the next year.

    Per generation: gross profit ``g R(y + 1)`` minus its training cost (a $0.1B model
    earning $0.2B while the next costs $1B). Per year: gross profit of the model on sale
    minus the training cost of the one being trained. Quantiles over revenue draws.
    """
    g = _check_fraction("gross_margin", gross_margin, "generation_pnl")
    _check_positive("first_cost", first_cost, "generation_pnl")
    _check_positive("cost_growth", cost_growth, "generation_pnl")
    rows = []
    for i in range(n_generations):
        y_train = first_year + i
        cost = first_cost * cost_growth**i
        j_sale = int(np.argmin(np.abs(years - (y_train + 1))))
        if abs(years[j_sale] - (y_train + 1)) > 0.5:
            break
        profit = g * revenue_draws[:, j_sale] - cost
        company = g * revenue_draws[:, j_sale] - cost * cost_growth  # selling gen i while training gen i+1
        q = np.percentile(profit, [10, 50, 90])
        cq = np.percentile(company, [10, 50, 90])
        rows.append(
            {
                "generation": i,
                "trained_in": y_train,
                "training_cost": cost,
                "revenue_median_next_year": float(np.median(revenue_draws[:, j_sale])),
                "generation_profit_p10": q[0],
                "generation_profit_p50": q[1],
                "generation_profit_p90": q[2],
                "company_pnl_p10": cq[0],
                "company_pnl_p50": cq[1],
                "company_pnl_p90": cq[2],
                "p_company_profitable": float(np.mean(company > 0)),
            }
        )
    return pd.DataFrame(rows)


def breakeven(pnl: pd.DataFrame, prob: float = 0.5) -> str:
    """When the company breaks even under the cone: the first generation with P(company P&L > 0) >= ``prob``."""
    ok = pnl[pnl["p_company_profitable"] >= prob]
    if len(ok) == 0:
        return f"the company does not break even (P >= {prob:g}) within the cone"
    row = ok.iloc[0]
    return (
        f"the company breaks even from the generation trained in {int(row['trained_in'])} "
        f"(P(profit) = {row['p_company_profitable']:.2f}, training cost ${row['training_cost'] / 1e9:g}B)"
    )


# ----------------------------------------------------------------------------- end to end
@dataclass
class PlanResult:
    """Everything :func:`run_plan` computed; ``tree`` holds all draws in its ``derived`` group."""

    tree: xr.DataTree
    cone: pd.DataFrame
    plan: Plan
    pnl: pd.DataFrame
    assumptions: list[str]


def save_plan(result: PlanResult, folder: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> dict[str, Any]:
    """Write a plan's outputs to ``folder``, each file atomically: ``plan.nc`` (every draw),
    ``cone.csv``, ``plan_summary.csv``, ``can_pay_curve.csv``, ``pnl.csv`` and the ``cone``,
    ``can_pay`` and ``pnl`` figures in ``formats``. Returns the figures by name."""
    from . import io, plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    io.save(result.tree, folder / "plan.nc")
    for name, table in (
        ("cone", result.cone),
        ("plan_summary", result.plan.summary),
        ("can_pay_curve", result.plan.curve),
        ("pnl", result.pnl),
    ):
        io.atomic_write(folder / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
    figs = {
        "cone": plots.plot_cone(result),
        "can_pay": plots.plot_can_pay(result.plan),
        "pnl": plots.plot_pnl(result.pnl),
    }
    for name, fig in figs.items():
        plots.save_figure(fig, folder / name, formats=formats)
    return figs


def _require_pass(fit: xr.DataTree, what: str) -> None:
    """Refuse to build a plan on a fit that fails the diagnostics gate."""
    from .diagnostics import diagnose

    gate = diagnose(fit)
    if gate.status == "fail":
        raise ValueError(
            f"The plan cannot use {what}: its fit fails the diagnostics gate ({'; '.join(gate.reasons[:4])}). "
            "Try more warm-up (num_warmup), a higher target_accept, or another seed."
        )


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
    shapes: Sequence[str] = ("exponential_trend", "quadratic_trend", "logistic_trend"),
    fit_kwargs: dict[str, Any] | None = None,
    fits: Mapping[str, xr.DataTree] | None = None,
    seed: int = 0,
) -> PlanResult:
    """Capability forecast -> revenue mapping -> cone of revenue -> compute plan -> P&L, as draws.

    The capability series (default: METR's frontier time horizons) is forecast with
    stacked trend shapes; revenue (default: the shipped ``lab_revenue``, run-rate reports
    of ``company``) is mapped to capability at the same dates; the cone is the capability
    draws pushed through the mapping draws; the plan pays for compute arriving at
    ``start + lead_time`` from the ``percentile`` of revenue then.

    The cone has no economic ceiling (market size, GDP): it grows as fast as the
    capability trend and the fitted mapping imply, and the stacked trend shapes may
    include super-exponential growth. Read its far end as "what the trends say".

    ``fits`` may hold trend shapes already fitted to the same capability rows (by law
    name, as :func:`~scaling.forecasting.forecast` takes them); only the others are fitted.
    """
    from .data import as_frame
    from .forecasting import forecast

    # checked before any fitting (plan and generation_pnl check them again after minutes of sampling)
    _check_positive("lead_time", lead_time, "run_plan", allow_zero=True)
    _check_fraction("gross_margin", gross_margin, "run_plan")
    _check_fraction("compute_share", compute_share, "run_plan")
    _check_percentile(percentile, "run_plan")
    annual_cost_rate(amortisation_years, efficiency_gain)
    _check_positive("first_cost", first_cost, "run_plan")
    _check_positive("cost_growth", cost_growth, "run_plan")
    if horizon <= start + lead_time:
        raise ValueError(f"horizon ({horizon}) must be after start + lead_time ({start + lead_time}).")
    fit_kwargs = {"seed": seed, **(fit_kwargs or {})}
    fc = forecast(
        capability,
        x=x,
        y=y,
        where=where,
        start=start,
        horizon=horizon,
        n_grid_per_year=4,
        shapes=shapes,
        fit_kwargs=fit_kwargs,
        fits=fits,
        seed=seed,
    )
    years_grid = fc.grid_years
    rev_df = as_frame(revenue)
    cap_fit = fc.fits["exponential_trend"] if "exponential_trend" in fc.fits else next(iter(fc.fits.values()))
    mapping = fit_revenue_mapping(rev_df, cap_fit, company=company, **fit_kwargs)
    _require_pass(mapping, f"the revenue mapping (ln revenue on ln {y}, {company})")
    revenue_draws = revenue_from_capability(mapping, fc.stacked, seed=seed)
    naive, naive_fit = naive_revenue(rev_df, years_grid, company=company, **fit_kwargs)
    _require_pass(naive_fit, f"the revenue trend ({company})")
    arrival = start + lead_time
    j = int(np.argmin(np.abs(years_grid - arrival)))
    p = plan(
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
            "capability": (("sample", "year"), fc.stacked[:n]),
            "revenue": (("sample", "year"), revenue_draws[:n]),
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
        f"model generations: first costs ${first_cost / 1e9:g}B in {start:g}, each {cost_growth:g}x the last; "
        + breakeven(pnl),
    ]
    from .provenance import canonical_json, versions

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
