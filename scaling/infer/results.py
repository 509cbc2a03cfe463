"""Fits as DataTrees: the engine's arrays assembled into the ArviZ groups (``posterior``,
``sample_stats``, ``log_likelihood``, ``posterior_predictive``, ``observed_data``,
``constant_data``) with the spec in the root attrs, and :func:`select_problem` (one problem of a
``fit_many`` result as a single fit)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from scaling.errors import ScalingError
from scaling.provenance import canonical_json, root_attrs

SAMPLE_STAT_NAMES = {
    "diverging": "diverging",
    "energy": "energy",
    "num_steps": "n_steps",
    "accept_prob": "acceptance_rate",
    "step_size": "step_size",
    "tree_depth": "tree_depth",
    "reached_max_tree_depth": "reached_max_tree_depth",
}


def to_datatree(out, problems, model, *, names, spec, seed, single, n_max=None) -> xr.DataTree:
    """Assemble the DataTree; ``single`` drops the problem dim and the padding."""
    import arviz_base as azb

    n_max = n_max or max(p.n for p in problems)
    param_names = [*model.param_names, *model.law.physical_names]

    def last(a: np.ndarray) -> np.ndarray:  # (problem, chain, draw, ...) -> (chain, draw, ..., problem)
        return a[0] if single else np.moveaxis(a, 0, -1)

    def points(a: np.ndarray) -> np.ndarray:  # cut padding to the longest problem
        return last(a[..., :n_max])

    def padded(vals: list[np.ndarray]) -> np.ndarray:
        arr = np.stack([np.concatenate([v, np.full(n_max - v.shape[0], np.nan)]) for v in vals])
        return arr[0] if single else arr.T  # (point, problem)

    def per_problem(vals: list[float]) -> np.ndarray:
        return np.asarray(vals[0] if single else vals)

    groups = {
        "posterior": {k: last(out[k]) for k in param_names},
        "sample_stats": {new: last(out[old]) for old, new in SAMPLE_STAT_NAMES.items()}
        | {"lp": last(-out["potential_energy"])},
        "log_likelihood": {"y": points(out["ll"])},
        "posterior_predictive": {"y": points(out["yrep"])},
        "observed_data": {"y": padded([p.y for p in problems])},
        "constant_data": {k: padded([p.raw_x[k] for p in problems]) for k in problems[0].raw_x}
        | {f"center_{k}": per_problem([p.center[k] for p in problems]) for k in problems[0].u}
        | {"y_scale": per_problem([p.y_scale for p in problems]), "n_points": per_problem([p.n for p in problems])},
    }
    per_point = ["n_trials", "y_err", "censor", "group"]
    for k in per_point:
        if getattr(problems[0], k) is not None:
            groups["constant_data"][k] = padded([getattr(p, k).astype(float) for p in problems])
    trailing = [] if single else ["problem"]
    n_groups = max(len(p.groups) for p in problems)
    for k in model.group_names:  # (chain, draw, group[, problem]), groups beyond a problem's own set to NaN
        a = last(out[k])[:, :, :n_groups].astype(float)
        if not single:
            for j, p in enumerate(problems):
                a[:, :, len(p.groups) :, j] = np.nan
        groups["posterior"][k] = a
    dims = {"y": ["point", *trailing]} | {k: ["point", *trailing] for k in [*problems[0].raw_x, *per_point]}
    dims |= {k: ["group", *trailing] for k in model.group_names}
    dims |= {k: trailing for k in groups["posterior"] if k not in dims} | {k: trailing for k in groups["sample_stats"]}
    dims |= {k: trailing for k in groups["constant_data"] if k not in dims}
    coords = {"point": np.arange(n_max)} | ({} if single else {"problem": list(names)})
    if model.pooled:  # a single fit's groups by name; fit_many's by index (names per problem in attrs)
        coords["group"] = list(problems[0].groups) if single else np.arange(n_groups)
    dt = azb.from_dict(groups, dims=dims, coords=coords)
    dt.attrs.update(root_attrs(spec, problems, seed, single=single))
    if model.pooled:
        dt.attrs["groups"] = canonical_json(problems[0].groups if single else [p.groups for p in problems])
    if single:
        dt["observed_data"] = dt["observed_data"].to_dataset().assign_coords(row=("point", problems[0].rows))
    return dt


def select_problem(fit: xr.DataTree, problem: Any) -> xr.DataTree:
    """One problem of a :func:`fit_many` result as a single fit (padding removed).

    The result works with everything that takes a :func:`fit` result
    (:func:`scaling.diagnose`, :func:`scaling.compare`, :func:`scaling.returns`, plots).
    """
    if "problem" not in fit["posterior"].dims:
        raise ScalingError("select_problem needs a fit_many result (a fit with a 'problem' dim).")
    names = [str(p) for p in fit["posterior"]["problem"].values]
    if str(problem) not in names:
        raise ScalingError(f"Unknown problem {problem!r}; the fit has {names}.")
    i = names.index(str(problem))
    n = int(fit["constant_data"]["n_points"].isel(problem=i))
    groups = {}
    for name, node in fit.children.items():
        ds = node.to_dataset().isel(problem=i, drop=True)
        if "point" in ds.dims:
            ds = ds.isel(point=slice(0, n))
        groups[name] = ds
    out = xr.DataTree.from_dict(groups)
    out.attrs = dict(fit.attrs)
    for key in ("data_sha256", "excluded_rows", "notices"):
        value = json.loads(out.attrs[key])[i]
        out.attrs[key] = value if key == "data_sha256" else json.dumps(value)
    if "groups" in fit.attrs:  # partial pooling: this problem's groups, by name
        names = json.loads(fit.attrs["groups"])[i]
        out.attrs["groups"] = json.dumps(names)
        for name in ("posterior",):
            ds = out[name].to_dataset().isel(group=slice(0, len(names))).assign_coords(group=names)
            out[name] = ds
    return out
