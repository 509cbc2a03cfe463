"""The ``[plan]`` and ``[fleet]`` tables of a fit spec, checked against the planning functions' rules
before any fitting, with their defaults filled in (see :mod:`scaling.studies.spec`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from scaling.checks import GROSS_MARGIN_RULE, gross_margin_ok
from scaling.errors import DataError, ScalingError, SpecError
from scaling.studies.schema import SCHEMA, _resolve_source

#: [fleet] defaults not held by FleetAssumptions.
FLEET_DEFAULTS: dict[str, Any] = {"years": 5, "correlation": 0.9, "walk_sd": 0.0, "policy": "percentile", "knob": 10.0}


#: [plan] number rules: (test, rule in words), checked before any fitting.
PLAN_RULES: dict[str, tuple[Any, str]] = {
    "lead_time": (lambda v: v >= 0, ">= 0 (years)"),
    "gross_margin": (gross_margin_ok, GROSS_MARGIN_RULE),
    "compute_share": (lambda v: 0 < v <= 1, "in (0, 1]"),
    "amortisation_years": (lambda v: v > 0, "> 0 (years)"),
    "efficiency_gain": (lambda v: v >= 1, ">= 1 (price-performance gain per year)"),
    "percentile": (lambda v: 0 < v < 100, "in (0, 100)"),
    "first_cost": (lambda v: v > 0, "> 0 (dollars)"),
    "cost_growth": (lambda v: v > 0, "> 0"),
}


def _is_trend(law: str) -> bool:
    from scaling.models.laws import get_law

    inputs = get_law(law).inputs
    return len(inputs) == 1 and inputs[0].transform == "year"


def _check_plan(spec: dict[str, Any], path: Path) -> None:
    """[plan] against run_plan's rules, before any fitting; fills in run_plan's defaults."""
    import inspect

    from scaling.analysis.forecasting import SHAPES
    from scaling.data.preparation import as_frame
    from scaling.models.laws import LAWS
    from scaling.planning.pipeline import run_plan

    where, m, p = str(path), spec["model"], spec["plan"]
    trends = [law for law in LAWS if _is_trend(law)]
    if not _is_trend(m["law"]):
        raise SpecError(
            f"{where}: [model] law: a [plan] study forecasts capability against date, so it needs a date trend "
            f"law ({', '.join(trends)}); got {m['law']!r}."
        )
    if len(m["x"]) != 1:
        raise SpecError(f"{where}: [model] x: a [plan] study needs one date column; got {m['x']!r}.")
    defaults = {k: v.default for k, v in inspect.signature(run_plan).parameters.items()} | {"shapes": SHAPES}
    for k in SCHEMA["plan"]:
        p.setdefault(k, list(defaults[k]) if k == "shapes" else defaults[k])
    for k, (ok, rule) in PLAN_RULES.items():
        if not ok(p[k]):
            raise SpecError(f"{where}: [plan] {k} must be {rule}; got {p[k]!r}.")
    if p["horizon"] <= p["start"] + p["lead_time"]:
        raise SpecError(
            f"{where}: [plan] horizon must be after start + lead_time ({p['start']:g} + {p['lead_time']:g}); "
            f"got {p['horizon']!r}."
        )
    if not p["shapes"]:
        raise SpecError(f"{where}: [plan] shapes must list at least one trend law.")
    for law in p["shapes"]:
        if law not in trends:
            raise SpecError(
                f"{where}: [plan] shapes: {law!r} is not a date trend law. Trend laws: {', '.join(trends)}."
            )
    _resolve_source(spec, path, "plan", "revenue")
    try:
        rev = as_frame(p["revenue"])
    except DataError as e:
        raise SpecError(f"{where}: [plan] revenue: {e}") from None
    missing = [c for c in ("company", "date", "revenue_usd") if c not in rev.columns]
    if missing:
        raise SpecError(
            f"{where}: [plan] revenue: the table has no column(s) {missing} (it needs company, date, revenue_usd)."
        )
    companies = list(dict.fromkeys(rev["company"]))
    if p["company"] not in companies:
        raise SpecError(
            f"{where}: [plan] company {p['company']!r} is not in the revenue table {p['revenue']}; "
            f"its companies: {', '.join(companies)}."
        )
    rows = rev[rev["company"] == p["company"]]
    n = int((rows["kind"] == "run-rate").sum()) if "kind" in rows.columns else len(rows)
    if n < 4:
        raise SpecError(
            f"{where}: [plan] company: {p['company']!r} has {n} run-rate revenue report(s); "
            "the revenue mapping needs at least 4."
        )


def fleet_assumptions(spec: dict[str, Any]) -> Any:
    """The :class:`~scaling.planning.FleetAssumptions` of a checked spec's ``[fleet]`` and ``[plan]``."""
    from dataclasses import fields

    from scaling.planning.fleet import FleetAssumptions

    f, p = spec["fleet"], spec["plan"]
    names = {x.name for x in fields(FleetAssumptions)}
    kw = {k: v for k, v in f.items() if k in names}
    return FleetAssumptions(gross_margin=p["gross_margin"], compute_share=p["compute_share"], **kw)


def _check_fleet(spec: dict[str, Any], where: str) -> None:
    """[fleet] against FleetAssumptions' and the paths' rules, before any fitting; fills in defaults."""

    from scaling.planning.paths import _check_path_params
    from scaling.planning.policies import POLICIES

    if "plan" not in spec:
        raise SpecError(f"{where}: [fleet] needs a [plan] table (the revenue cone the fleet is paid from).")
    f, p = spec["fleet"], spec["plan"]
    for k, v in FLEET_DEFAULTS.items():
        f.setdefault(k, v)
    try:
        a = fleet_assumptions(spec)
        _check_path_params(f["correlation"], f["walk_sd"], "[fleet]")
    except ScalingError as e:
        raise SpecError(f"{where}: [fleet]: {e}") from None
    if f["policy"] not in POLICIES:
        raise SpecError(f"{where}: [fleet] policy must be one of {', '.join(POLICIES)}; got {f['policy']!r}.")
    if f["years"] < 1:
        raise SpecError(f"{where}: [fleet] years must be an int >= 1; got {f['years']!r}.")
    first = math.ceil(p["start"] - 1e-9) + a.lead_time
    last = first + f["years"] - 1
    if p["horizon"] < last:
        raise SpecError(
            f"{where}: [fleet] years: {f['years']} years of arrivals from {first} run to {last}, past the [plan] "
            f"horizon {p['horizon']:g}; set [plan] horizon = {last} or fewer [fleet] years."
        )
    if a.vendor_year >= f["years"]:
        raise SpecError(f"{where}: [fleet] vendor_year {a.vendor_year} is past the {f['years']}-year horizon.")
