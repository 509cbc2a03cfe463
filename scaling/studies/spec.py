"""Fit specs: declarative TOML files (``fits/*.toml``) describing one study.

A spec has these tables (only ``data`` and ``model`` are required)::

    title = "..."
    [data]      source (dataset name, or CSV path relative to the spec), where, dropna, units,
                by (a column: one problem per value, for ``scaling fit-many``)
    [model]     law, x (list of columns), y, likelihood, law_options, priors, trials; and the model's
                structure (see :func:`scaling.fit`): y_err or y_low/y_high/level (known measurement
                error), censored (a column of below/above/none codes), group with pooled (a list of
                law parameters, or a table parameter -> prior of its between-group scale), date
                (effective compute)
    [sampler]   the seed and the NUTS settings (:class:`scaling.Sampler`): seed, num_warmup, num_samples,
                num_chains, target_accept, max_tree_depth, dense_mass, batch_mode
    [compare]   laws: other laws fitted to the same data and compared by PSIS-LOO
    [returns]   baseline: a constant-returns law for the diminishing-returns verdict
    [forecast]  threshold, horizon, shapes, direction (for date laws)
    [plan]      revenue, company, start, horizon, lead_time, gross_margin, compute_share,
                amortisation_years, efficiency_gain, percentile, first_cost, cost_growth, shapes
    [fleet]     years, lead_time, amortisation_years, efficiency_gain, opex_rate, pay_share,
                vendor_financing, vendor_year, cash, correlation, walk_sd, policy, knob
    [outputs]   dir (relative to the working directory), extend (plot extrapolation)

``[plan]`` makes the study a revenue cone and compute plan
(:func:`scaling.planning.run_plan`, the ``scaling plan`` command): ``[data]`` is the
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

The keys ``[model] options`` and ``[model] n_trials`` of 0.2 are read as ``law_options`` and
``trials`` for one release, with a DeprecationWarning.

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

from scaling.deprecation import warn_renamed
from scaling.errors import DataError, ScalingError, SpecError
from scaling.studies.schema import RENAMED_KEYS, SCHEMA, STRUCTURE, TOP, _resolve_source, _type_name
from scaling.studies.spec_tables import _check_fleet, _check_plan, _is_trend

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
    for table, old, new in RENAMED_KEYS:
        values = spec.get(table)
        if isinstance(values, dict) and old in values:
            if new in values:
                raise SpecError(f"{where}: [{table}] give {new} only ({old} is its deprecated name), not both.")
            warn_renamed(f"[{table}] {old}", f"[{table}] {new}", where, what="spec key", stacklevel=3)
            values[new] = values.pop(old)
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
    for table in ("data",) if "index" in spec else ("data", "model"):
        if table not in spec:
            raise SpecError(f"{where}: the [{table}] table is required.")
    if "index" in spec:
        _check_index(spec, where)
    for k in ("num_warmup", "num_samples", "num_chains", "max_tree_depth"):
        v = spec.get("sampler", {}).get(k)
        if v is not None and v < 1:
            raise SpecError(f"{where}: [sampler] {k} must be an int >= 1; got {v!r}.")
    try:
        sampler_of(spec)
    except ScalingError as e:
        raise SpecError(f"{where}: {e}") from None
    if "model" in spec:
        _check_model(spec, where)
    _check_values(spec, where)
    _resolve_source(spec, path)
    if "model" in spec and isinstance(spec["model"]["x"], str):
        spec["model"]["x"] = [spec["model"]["x"]]
    if "plan" in spec:
        _check_plan(spec, path)
    if "fleet" in spec:
        _check_fleet(spec, where)
    spec["_path"] = str(path)
    return spec


def sampler_of(spec: dict[str, Any]) -> dict[str, Any]:
    """The ``[sampler]`` table's NUTS settings (all but ``seed``), as ``sampler=`` takes them (checked:
    a bad value raises a ScalingError naming ``[sampler]``)."""
    from scaling.infer.sampler import Sampler

    settings = {k: v for k, v in spec.get("sampler", {}).items() if k != "seed"}
    Sampler.of(settings, "[sampler]")
    return settings


def seed_of(spec: dict[str, Any]) -> int:
    """The ``[sampler] seed`` (default 0)."""
    return spec.get("sampler", {}).get("seed", 0)


def fit_arguments(spec: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :func:`scaling.fit` / :func:`scaling.fit_many` a loaded spec
    gives, besides the data and the law: columns, likelihood, priors, law options, row
    selection, units, the ``[sampler]`` settings (``sampler=``) and its ``seed``."""
    d, m = spec["data"], spec["model"]
    return {
        "x": m["x"],
        "y": m["y"],
        "likelihood": m.get("likelihood"),
        "priors": m.get("priors"),
        "law_options": m.get("law_options"),
        "trials": m.get("trials"),
        **{k: m[k] for k in STRUCTURE if k in m},
        "where": d.get("where"),
        "dropna": d.get("dropna", False),
        "units": d.get("units"),
        "sampler": sampler_of(spec),
        "seed": seed_of(spec),
    }


def _check_index(spec: dict[str, Any], where: str) -> None:
    """An ``[index]`` study (the capability index, :mod:`scaling.studies.capability_study`)."""
    ix = spec["index"]
    if "model" in spec:
        raise SpecError(f"{where}: an [index] study fits the capability index; drop the [model] table.")
    anchors = ix.get("anchors", "eci")
    ok = anchors in ("eci", "none") or (
        isinstance(anchors, list) and len(anchors) == 2 and all(isinstance(a, list) and len(a) == 2 for a in anchors)
    )
    if not ok:
        raise SpecError(f"{where}: [index] anchors must be 'eci', 'none' or two [model, value] pairs; got {anchors!r}.")
    if ix.get("likelihood", "beta") not in ("beta", "binomial"):
        raise SpecError(f"{where}: [index] likelihood must be 'beta' or 'binomial'; got {ix['likelihood']!r}.")
    for k in ("top_benchmarks", "min_benchmarks"):
        if k in ix and ix[k] < 1:
            raise SpecError(f"{where}: [index] {k} must be an int >= 1; got {ix[k]!r}.")


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
    options = dict(m.get("law_options") or {})
    if "date" in m:
        options.setdefault("effective_compute", True)
    try:
        resolve(
            m["law"],
            m.get("likelihood"),
            priors=m.get("priors"),
            law_options=options,
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
    for k, v in spec.get("plan", {}).items():  # gross_margin has its own rule, which says more
        if k != "gross_margin" and isinstance(v, float) and not math.isfinite(v):
            raise bad(f"[plan] {k}", "a finite number", v)
