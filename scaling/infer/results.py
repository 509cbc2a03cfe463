"""Bayesian fits: :func:`fit` (one dataset) and :func:`fit_many` (many at once).

Both run the same compiled NUTS engine (:mod:`scaling.engine`) and return an
:class:`xarray.DataTree` with groups ``posterior``, ``sample_stats``,
``log_likelihood``, ``posterior_predictive``, ``observed_data`` and
``constant_data``; root attrs carry the spec (JSON), its id, the data hash,
library versions and the seed. ``fit_many`` adds a trailing ``problem`` dim.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from scaling.provenance import root_attrs

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
    if problems[0].n_trials is not None:
        groups["constant_data"]["n_trials"] = padded([p.n_trials for p in problems])
    trailing = [] if single else ["problem"]
    dims = {"y": ["point", *trailing]} | {k: ["point", *trailing] for k in problems[0].raw_x}
    dims |= {"n_trials": ["point", *trailing]}
    dims |= {k: trailing for k in groups["posterior"]} | {k: trailing for k in groups["sample_stats"]}
    dims |= {k: trailing for k in groups["constant_data"] if k not in dims}
    coords = {"point": np.arange(n_max)} | ({} if single else {"problem": list(names)})
    dt = azb.from_dict(groups, dims=dims, coords=coords)
    dt.attrs.update(root_attrs(spec, problems, seed, single=single))
    if single:
        dt["observed_data"] = dt["observed_data"].to_dataset().assign_coords(row=("point", problems[0].rows))
    return dt
