"""Fit specs: declarative TOML files (``fits/*.toml``) describing one study.

A spec has these tables (only ``data`` and ``model`` are required)::

    title = "..."
    [data]      source (dataset name, or CSV path relative to the spec), where, dropna, units,
                by (a column: one problem per value, for ``scaling fit-many``)
    [model]     law, x (list of columns), y, likelihood, options, priors, n_trials; and the model's
                structure (see :func:`scaling.fit`): y_err or y_low/y_high/level (known measurement
                error), censored (a column of below/above/none codes), group with pooled (a list of
                law parameters, or a table parameter -> prior of its between-group scale), date
                (effective compute)
    [sampler]   num_warmup, num_samples, num_chains, seed, target_accept
    [compare]   laws: other laws fitted to the same data and compared by PSIS-LOO
    [returns]   baseline: a constant-returns law for the diminishing-returns verdict
    [forecast]  threshold, horizon, shapes, direction (for date laws)
    [plan]      revenue, company, start, horizon, lead_time, gross_margin, compute_share,
                amortisation_years, efficiency_gain, percentile, first_cost, cost_growth, shapes
    [fleet]     years, lead_time, amortisation_years, efficiency_gain, opex_rate, pay_share,
                vendor_financing, vendor_year, cash, correlation, walk_sd, policy, knob
    [outputs]   dir (relative to the working directory), extend (plot extrapolation)

``[plan]`` makes the study a revenue cone and compute plan
(:func:`scaling.economics.run_plan`, the ``scaling plan`` command): ``[data]`` is the
capability series and ``[model]`` its date trend (``x`` one date column, ``y`` the
capability, ``law`` a date trend law, reused as that forecast shape);
``revenue`` (a dataset name or CSV path relative to the spec; default ``lab_revenue``)
holds the run-rate reports of ``company``. Every key left out takes ``run_plan``'s
default; the seed and sampler settings come from ``[sampler]``.

``[fleet]`` (with ``[plan]``) adds compute commitments over years
(:func:`scaling.planning.plan_policies`): ``years`` whole years of arrivals from
``ceil(start) + lead_time`` (the ``[plan]`` horizon must reach the last), the fleet's
economics (:class:`scaling.planning.FleetAssumptions`; gross margin and compute share come
from ``[plan]``), the revenue paths' ``correlation`` and ``walk_sd``
(:mod:`scaling.planning.paths`), and the ``policy`` and ``knob`` drawn in the fleet fan.
Keys left out take those defaults (years 5, correlation 0.9, walk_sd 0, policy percentile, knob 10).

Every problem is reported as one message naming the file and the key, e.g.
``fits/x.toml: [sampler] num_samples must be an int >= 1; got -5.``
"""

from __future__ import annotations

import copy
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from scaling.checks import GROSS_MARGIN_RULE, gross_margin_ok
from scaling.errors import DataError, ScalingError, SpecError

SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "data": {
        "source": (str, True),
        "where": (str, False),
        "dropna": (bool, False),
        "units": (dict, False),
        "by": (str, False),
    },
    "model": {
        "law": (str, True),
        "x": ((list, str), True),
        "y": (str, True),
        "likelihood": (str, False),
        "options": (dict, False),
        "priors": (dict, False),
        "n_trials": (str, False),
        "y_err": (str, False),
        "y_low": (str, False),
        "y_high": (str, False),
        "level": (float, False),
        "censored": (str, False),
        "group": (str, False),
        "pooled": ((list, dict), False),
        "date": (str, False),
    },
    "sampler": {
        "num_warmup": (int, False),
        "num_samples": (int, False),
        "num_chains": (int, False),
        "seed": (int, False),
        "target_accept": (float, False),
    },
    "compare": {"laws": (list, True)},
    "returns": {"baseline": (str, False), "prob": (float, False), "rope": (float, False)},
    "forecast": {
        "threshold": ((float, int), False),
        "horizon": ((float, int, str), False),
        "shapes": (list, False),
        "direction": (str, False),
    },
    "plan": {
        "revenue": (str, False),
        "company": (str, False),
        "start": (float, False),
        "horizon": (float, False),
        "lead_time": (float, False),
        "gross_margin": (float, False),
        "compute_share": (float, False),
        "amortisation_years": (float, False),
        "efficiency_gain": (float, False),
        "percentile": (float, False),
        "first_cost": (float, False),
        "cost_growth": (float, False),
        "shapes": (list, False),
    },
    "fleet": {
        "years": (int, False),
        "lead_time": (int, False),
        "amortisation_years": (int, False),
        "efficiency_gain": (float, False),
        "opex_rate": (float, False),
        "pay_share": (float, False),
        "vendor_financing": (float, False),
        "vendor_year": (int, False),
        "cash": (float, False),
        "correlation": (float, False),
        "walk_sd": (float, False),
        "policy": (str, False),
        "knob": (float, False),
    },
    "outputs": {"dir": (str, False), "extend": ((float, int), False)},
}

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


TOP = {"title": str}

#: The shipped studies (the repository's ``fits/``), package data: ``scaling run NAME`` finds them by name.
SHIPPED_SPECS = Path(str(resources.files("scaling.studies") / "shipped"))


def shipped_specs() -> list[str]:
    """Names of the shipped studies (``metr_doubling``, ...), runnable from any folder by name."""
    return sorted(p.stem for p in SHIPPED_SPECS.glob("*.toml"))


def find_spec(spec: str | Path) -> Path:
    """The spec file ``spec`` names: a path to a TOML file, else the name of a shipped study
    (``metr_doubling`` or ``metr_doubling.toml``); a path wins over a shipped name."""
    path = Path(spec)
    if path.exists():
        return path
    name = path.name.removesuffix(".toml")
    if path.parent == Path(".") and name in shipped_specs():
        return SHIPPED_SPECS / f"{name}.toml"
    raise SpecError(
        f"Spec file {str(spec)!r} does not exist and is not the name of a shipped study "
        f"({', '.join(shipped_specs())}). Give a spec file's path or one of those names."
    )


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an int", float: "a number", bool: "true/false", list: "a list", dict: "a table"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names[x] for x in ts)


def load_spec(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Read and validate a spec: a TOML file's path or a shipped study's name (:func:`find_spec`);
    ``overrides`` replace keys per table (e.g. fewer draws in tests)."""
    path = find_spec(path)
    try:
        with open(path, "rb") as f:
            spec = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: not valid TOML ({e}).") from None
    spec = copy.deepcopy(spec)
    for table, values in (overrides or {}).items():
        spec.setdefault(table, {}).update(values)
    where = str(path)
    for key, value in spec.items():
        if key in TOP:
            if not isinstance(value, TOP[key]):
                raise SpecError(f"{where}: {key} must be {_type_name(TOP[key])}; got {value!r}.")
            continue
        if key not in SCHEMA:
            raise SpecError(f"{where}: unknown table [{key}]. Known tables: {', '.join(SCHEMA)}.")
        if not isinstance(value, dict):
            raise SpecError(f"{where}: [{key}] must be a table.")
        for k, v in value.items():
            if k not in SCHEMA[key]:
                raise SpecError(f"{where}: unknown key {k!r} in [{key}]. Known keys: {', '.join(SCHEMA[key])}.")
            t = SCHEMA[key][k][0]
            ok = isinstance(v, t) and not (isinstance(v, bool) and bool not in (t if isinstance(t, tuple) else (t,)))
            if t is float and isinstance(v, int) and not isinstance(v, bool):
                ok = True
            if not ok:
                raise SpecError(f"{where}: [{key}] {k} must be {_type_name(t)}; got {v!r}.")
        for k, (_, required) in SCHEMA[key].items():
            if required and k not in value:
                raise SpecError(f"{where}: [{key}] is missing the required key {k!r}.")
    for table in ("data", "model"):
        if table not in spec:
            raise SpecError(f"{where}: the [{table}] table is required.")
    for k in ("num_warmup", "num_samples", "num_chains"):
        v = spec.get("sampler", {}).get(k)
        if v is not None and v < 1:
            raise SpecError(f"{where}: [sampler] {k} must be an int >= 1; got {v!r}.")
    _check_model(spec, where)
    _check_values(spec, where)
    _resolve_source(spec, path)
    if isinstance(spec["model"]["x"], str):
        spec["model"]["x"] = [spec["model"]["x"]]
    if "plan" in spec:
        _check_plan(spec, path)
    if "fleet" in spec:
        _check_fleet(spec, where)
    spec["_path"] = str(path)
    return spec


def fit_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`scaling.fit` / :func:`scaling.fit_many` a loaded spec
    gives, besides the data and the law: columns, likelihood, priors, options, row
    selection, units and the ``[sampler]`` settings."""
    d, m = spec["data"], spec["model"]
    return {
        "x": m["x"],
        "y": m["y"],
        "likelihood": m.get("likelihood"),
        "priors": m.get("priors"),
        "law_options": m.get("options"),
        "n_trials": m.get("n_trials"),
        **{k: m[k] for k in STRUCTURE if k in m},
        "where": d.get("where"),
        "dropna": d.get("dropna", False),
        "units": d.get("units"),
        **spec.get("sampler", {}),
    }


#: [model] keys of a model's structure, passed to fit as they are.
STRUCTURE = ("y_err", "y_low", "y_high", "level", "censored", "group", "pooled", "date")


def _check_model(spec: dict[str, Any], where: str) -> None:
    from scaling.models.laws import LAWS
    from scaling.models.model import resolve

    m = spec["model"]
    laws = [m["law"], *spec.get("compare", {}).get("laws", [])]
    if spec.get("returns", {}).get("baseline"):
        laws.append(spec["returns"]["baseline"])
    for key, law in zip(["[model] law", *["[compare] laws"] * (len(laws) - 1)], laws, strict=True):
        if law not in LAWS:
            raise SpecError(f"{where}: {key}: unknown law {law!r}. Known laws: {', '.join(LAWS)}.")
    if ("group" in m) != ("pooled" in m):
        have, lack = ("group", "pooled") if "group" in m else ("pooled", "group")
        raise SpecError(f"{where}: [model] {have} needs {lack} (the group column and the parameters that vary by it).")
    if ("y_low" in m) != ("y_high" in m) or ("y_err" in m and "y_low" in m):
        raise SpecError(f"{where}: [model] give y_err, or both y_low and y_high (with level), not a mix.")
    if "level" in m and not 0 < m["level"] < 1:
        raise SpecError(f"{where}: [model] level must be in (0, 1) (0.95 for a 95% interval); got {m['level']!r}.")
    if isinstance(m.get("pooled"), list) and not all(isinstance(v, str) for v in m["pooled"]):
        raise SpecError(f"{where}: [model] pooled must list parameter names; got {m['pooled']!r}.")
    options = dict(m.get("options") or {})
    if "date" in m:
        options.setdefault("effective_compute", True)
    try:
        resolve(
            m["law"],
            m.get("likelihood"),
            priors=m.get("priors"),
            options=options,
            pooled=m.get("pooled"),
            measurement_error="y_err" in m or "y_low" in m,
            censored="censored" in m,
        )
    except ValueError as e:
        raise SpecError(f"{where}: [model]: {e}") from None
    except ScalingError as e:
        raise SpecError(f"{where}: [model] pooled/y_err/censored: {e}") from None


def _check_values(spec: dict[str, Any], where: str) -> None:
    """Values the type check lets through but the study cannot use: a where= outside the filter
    language, verdict and forecast settings out of range, non-finite numbers, seeds past 32 bits."""
    from scaling.checks import SEED_MAX
    from scaling.data.where import parse
    from scaling.models.laws import LAWS

    def bad(key: str, rule: str, value: Any) -> SpecError:
        return SpecError(f"{where}: {key} must be {rule}; got {value!r}.")

    if "where" in spec["data"]:
        try:
            parse(spec["data"]["where"])
        except DataError as e:
            raise SpecError(f"{where}: [data] where: {e}") from None
    seed = spec.get("sampler", {}).get("seed")
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise bad("[sampler] seed", f"an int in [0, {SEED_MAX}]", seed)
    r = spec.get("returns", {})
    if "prob" in r and not 0.5 < r["prob"] < 1:
        raise bad("[returns] prob", "a probability in (0.5, 1), e.g. 0.9", r["prob"])
    if "rope" in r and not (math.isfinite(r["rope"]) and r["rope"] > 0):
        raise bad("[returns] rope", "a finite number > 0 (a relative change, e.g. 0.1)", r["rope"])
    f = spec.get("forecast", {})
    if "threshold" in f and not (math.isfinite(f["threshold"]) and f["threshold"] > 0):
        raise bad("[forecast] threshold", "a finite number > 0, in the units of [model] y", f["threshold"])
    if isinstance(f.get("horizon"), (int, float)) and not math.isfinite(f["horizon"]):
        raise bad("[forecast] horizon", "a finite year or a date", f["horizon"])
    if f.get("direction", "up") not in ("up", "down"):
        raise bad("[forecast] direction", "'up' or 'down'", f["direction"])
    trends = [law for law in LAWS if _is_trend(law)]
    for shape in (f["shapes"] or [None]) if "shapes" in f else []:  # an empty list is refused too
        if shape not in trends:
            raise bad("[forecast] shapes", f"a list of date trend laws ({', '.join(trends)})", shape)
    extend = spec.get("outputs", {}).get("extend")
    if extend is not None and not (math.isfinite(extend) and extend >= 0):
        raise bad("[outputs] extend", "a finite number >= 0 (decades or years to extrapolate)", extend)
    for k, v in spec.get("plan", {}).items():
        if isinstance(v, float) and not math.isfinite(v):
            raise bad(f"[plan] {k}", "a finite number", v)


def _resolve_source(spec: dict[str, Any], path: Path, table: str = "data", key: str = "source") -> None:
    from scaling.data import registry as datasets

    source = spec[table][key]
    if source in datasets.names():
        return
    candidate = (path.parent / source).resolve()
    if not candidate.exists():
        raise SpecError(
            f"{path}: [{table}] {key} {source!r} is neither a dataset name ({', '.join(datasets.names())}) "
            f"nor a file (looked for {candidate})."
        )
    if candidate.is_dir():
        raise SpecError(f"{path}: [{table}] {key} {source!r} is a folder ({candidate}); give the CSV file in it.")
    spec[table][key] = str(candidate)


def _is_trend(law: str) -> bool:
    from scaling.models.laws import get_law

    inputs = get_law(law).inputs
    return len(inputs) == 1 and inputs[0].transform == "year"


def _check_plan(spec: dict[str, Any], path: Path) -> None:
    """[plan] against run_plan's rules, before any fitting; fills in run_plan's defaults."""
    import inspect

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
    defaults = {k: v.default for k, v in inspect.signature(run_plan).parameters.items()}
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
    import math

    from scaling.errors import ScalingError
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
