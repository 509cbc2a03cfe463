"""The schema of a fit spec (tables, keys, types, required keys) and the resolution of data
sources (a dataset name, or a file relative to the spec). See :mod:`scaling.studies.spec`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scaling.errors import SpecError

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
        "law_options": (dict, False),
        "priors": (dict, False),
        "trials": (str, False),
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
        "max_tree_depth": (int, False),
        "dense_mass": (bool, False),
        "batch_mode": (str, False),
    },
    "index": {
        "anchors": ((str, list), False),
        "likelihood": (str, False),
        "ceiling": (bool, False),
        "top_benchmarks": (int, False),
        "min_benchmarks": (int, False),
        "compute": (str, False),
        "lfo_cutoff": (str, False),
        "lobo": (list, False),
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


TOP = {"title": str}

#: Retired keys still read, for one release, with a DeprecationWarning: (table, old key, new key).
RENAMED_KEYS = (("model", "options", "law_options"), ("model", "n_trials", "trials"))


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an int", float: "a number", bool: "true/false", list: "a list", dict: "a table"}
    ts = t if isinstance(t, tuple) else (t,)
    return " or ".join(names[x] for x in ts)


#: [model] keys of a model's structure, passed to fit as they are.
STRUCTURE = ("y_err", "y_low", "y_high", "level", "censored", "group", "pooled", "date")


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
