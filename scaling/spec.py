"""Fit specs: declarative TOML files (``fits/*.toml``) describing one study.

A spec has these tables (only ``data`` and ``model`` are required)::

    title = "..."
    [data]      source (dataset name, or CSV path relative to the spec), where, dropna, units
    [model]     law, x (list of columns), y, likelihood, options, priors
    [sampler]   num_warmup, num_samples, num_chains, seed, target_accept
    [compare]   laws: other laws fitted to the same data and compared by PSIS-LOO
    [returns]   baseline: a constant-returns law for the diminishing-returns verdict
    [forecast]  threshold, horizon, shapes, direction (for date laws)
    [outputs]   dir (relative to the working directory), extend (plot extrapolation)

Every problem is reported as one message naming the file and the key, e.g.
``fits/x.toml: [sampler] num_samples must be an int >= 1; got -5.``
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from .data import DataError

SCHEMA: dict[str, dict[str, tuple[type | tuple[type, ...], bool]]] = {
    "data": {"source": (str, True), "where": (str, False), "dropna": (bool, False), "units": (dict, False)},
    "model": {
        "law": (str, True),
        "x": ((list, str), True),
        "y": (str, True),
        "likelihood": (str, False),
        "options": (dict, False),
        "priors": (dict, False),
        "n_trials": (str, False),
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
    "outputs": {"dir": (str, False), "extend": ((float, int), False)},
}
TOP = {"title": str}


class SpecError(DataError):
    """An invalid fit spec; the message names the file and the key."""


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an int", float: "a number", bool: "true/false", list: "a list", dict: "a table"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names[x] for x in ts)


def load_spec(path: str | Path, overrides: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Read and validate a spec; ``overrides`` replace keys per table (e.g. fewer draws in tests)."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"Spec file {str(path)!r} does not exist.")
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
    _resolve_source(spec, path)
    if isinstance(spec["model"]["x"], str):
        spec["model"]["x"] = [spec["model"]["x"]]
    spec["_path"] = str(path)
    return spec


def _check_model(spec: dict[str, Any], where: str) -> None:
    from .inference import resolve_model
    from .laws import LAWS

    m = spec["model"]
    laws = [m["law"], *spec.get("compare", {}).get("laws", [])]
    if spec.get("returns", {}).get("baseline"):
        laws.append(spec["returns"]["baseline"])
    for key, law in zip(["[model] law", *["[compare] laws"] * (len(laws) - 1)], laws, strict=True):
        if law not in LAWS:
            raise SpecError(f"{where}: {key}: unknown law {law!r}. Known laws: {', '.join(LAWS)}.")
    try:
        resolve_model(m["law"], m.get("likelihood"), m.get("priors"), m.get("options"))
    except ValueError as e:
        raise SpecError(f"{where}: [model]: {e}") from None


def _resolve_source(spec: dict[str, Any], path: Path) -> None:
    from . import datasets

    source = spec["data"]["source"]
    if source in datasets.names():
        return
    candidate = (path.parent / source).resolve()
    if not candidate.exists():
        raise SpecError(
            f"{path}: [data] source {source!r} is neither a dataset name ({', '.join(datasets.names())}) "
            f"nor a file (looked for {candidate})."
        )
    spec["data"]["source"] = str(candidate)
