"""Refitting a fit on a subset of its own rows, for ArviZ's refit-based validation.

arviz-stats' :func:`~arviz_stats.lfo_cv` (leave-future-out) and :func:`~arviz_stats.reloo`
(exact LOO where PSIS fails) refit the model through a
:class:`~arviz_stats.SamplingWrapper`. :class:`RefitWrapper` is that wrapper for a
:func:`scaling.fit` result: it rebuilds the fit's rows (inputs in natural units, ``y`` in the
fit's units) from its ``constant_data`` and ``observed_data``, refits the same model (law,
likelihood, priors, options) on the rows kept, with the same sampler settings, and scores the
rows left out by :func:`log_density`.

A refit centres and scales its priors on the rows it is given (as any fit does), i.e. it is the
fit a user would have made with only those rows: the question leave-future-out asks.

:func:`log_density` is ``log p(y_j | theta_s)`` per posterior draw ``s`` and new point ``j``,
the density of the fit's likelihood in the units of ``y`` (lognormal: ``log N(ln y; ln mu,
sigma) - ln y``), the same quantity as the fit's ``log_likelihood`` group.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from arviz_stats import SamplingWrapper

from scaling.analysis.prediction import law_outputs, model_from_fit
from scaling.errors import ScalingError
from scaling.infer.sampler import Sampler

#: per-point extras a refit cannot rebuild from a fit (measurement error, censoring, groups)
UNSUPPORTED = ("y_err", "censor", "group")


def refit_unsupported(fit: xr.DataTree) -> str | None:
    """Why ``fit`` cannot be refitted on a subset of its rows (None when it can)."""
    const = fit["constant_data"]
    extras = [k for k in UNSUPPORTED if k in const]
    if extras:
        return f"refits of fits with per-point {', '.join(extras)} are not supported"
    if "problem" in fit["posterior"].dims:
        return "a fit_many result; select one problem first"
    return None


def fit_rows(fit: xr.DataTree) -> pd.DataFrame:
    """The rows a fit was made with: one column per law input (natural units: FLOP, decimal
    years), ``y`` (the fit's units) and ``n_trials`` (binomial), in the fit's point order."""
    model = model_from_fit(fit)
    const = fit["constant_data"]
    cols = {i.name: const[i.name].values for i in model.law.inputs}
    cols["y"] = fit["observed_data"]["y"].values
    if "n_trials" in const:
        cols["n_trials"] = const["n_trials"].values
    return pd.DataFrame(cols)


def log_density(fit: xr.DataTree, rows: pd.DataFrame) -> xr.DataArray:
    """``log p(y_j | theta_s)`` (chain, draw, point) of ``rows`` (as :func:`fit_rows` gives them)."""
    import jax.numpy as jnp

    model = model_from_fit(fit)
    law, lik = model.law, model.likelihood
    const = fit["constant_data"]
    post = fit["posterior"].to_dataset()
    shape = [post.sizes["chain"], post.sizes["draw"]]
    out = jnp.asarray(law_outputs(fit, {i.name: rows[i.name].to_numpy() for i in law.inputs}))  # (S, G)
    nuis = {n: jnp.asarray(post[n].values.reshape(-1, 1)) for n in lik.param_names}
    trials = jnp.asarray(rows["n_trials"].to_numpy()) if "n_trials" in rows else None
    dist = lik.dist(law, out, nuis, float(const["y_scale"]), trials)
    y = rows["y"].to_numpy(dtype=float)
    value = jnp.round(jnp.asarray(y) * trials) if lik.counts else jnp.asarray(y)
    ll = np.asarray(dist.log_prob(value), dtype=np.float64)
    return xr.DataArray(ll.reshape(*shape, -1), dims=["chain", "draw", "point"], coords={"point": np.arange(len(rows))})


class RefitWrapper(SamplingWrapper):
    """ArviZ sampling wrapper that refits ``fit`` on a subset of its rows.

    ``order``: the point order ArviZ indexes (for leave-future-out, the points sorted by time;
    ``fit_rows`` order by default). ``sampler``: the settings the refits use, a
    :class:`~scaling.infer.sampler.Sampler` or a mapping of some of its settings (the fit's own chains and
    draws, the other settings the Sampler's defaults, unless the mapping says otherwise); ``seed``: their
    seed. ``refits`` counts the refits made.
    """

    def __init__(
        self,
        fit: xr.DataTree,
        *,
        order: np.ndarray | None = None,
        sampler: Sampler | Mapping[str, Any] | None = None,
        seed: int = 0,
    ):
        why = refit_unsupported(fit)
        if why:
            raise ScalingError(f"Cannot refit this fit: {why}.")
        n = int(fit["constant_data"]["n_points"])
        self.order = np.arange(n) if order is None else np.asarray(order)
        post = fit["posterior"]
        own = {"num_chains": post.sizes["chain"], "num_samples": post.sizes["draw"]}
        if isinstance(sampler, Sampler):
            self.sampler = sampler.replace(progress=False)
        else:
            self.sampler = Sampler.of({**own, **(sampler or {}), "progress": False}, "RefitWrapper")
        self.seed = seed
        self.rows = fit_rows(fit).iloc[self.order].reset_index(drop=True)
        self.model = model_from_fit(fit)
        self.refits = 0
        ordered = fit.copy()
        for name in ("log_likelihood", "observed_data"):
            ordered[name] = fit[name].to_dataset().isel(point=self.order).assign_coords(point=np.arange(n))
        super().__init__(model=self.model, idata_orig=ordered)

    def sel_observations(self, idx):
        """``(rows kept, rows left out)`` for the integer positions ``idx`` (in ``order``)."""
        out = np.zeros(len(self.rows), dtype=bool)
        out[np.asarray(idx, dtype=int)] = True
        return self.rows[~out].reset_index(drop=True), self.rows[out].reset_index(drop=True)

    def sample(self, modified_observed_data):
        """The same model refitted on ``modified_observed_data`` (no progress bar, no gate)."""
        from scaling.infer.bayes import fit

        self.refits += 1
        inputs = [i.name for i in self.model.law.inputs]
        trials = "n_trials" if "n_trials" in modified_observed_data else None
        return fit(
            modified_observed_data,
            self.model,
            x=inputs,
            y="y",
            trials=trials,
            seed=self.seed + self.refits,
            sampler=self.sampler,
        )

    def get_inference_data(self, fitted_model):
        """A refit is already a DataTree."""
        return fitted_model

    def log_likelihood__i(self, excluded_obs, idata__i):
        """``log p(y_j | theta_s)`` of the rows left out, under the refit's draws."""
        return log_density(idata__i, excluded_obs)
