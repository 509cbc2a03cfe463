"""Predictions from a fit at new inputs, draw by draw."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jax
import numpy as np
import pandas as pd
import xarray as xr

from scaling.models.law import Law
from scaling.models.model import Model, model_from_spec


def model_from_fit(fit: xr.DataTree) -> Model:
    """The :class:`~scaling.models.model.Model` a saved fit was made with (rebuilt from its spec).

    For point fits the likelihood is the residuals' scatter model (lognormal for positive laws,
    normal for scores); the fit itself minimised a Huber loss (see :func:`scaling.fit_point`).
    """
    spec = json.loads(fit.attrs["spec"])
    if spec["likelihood"]["name"] == "huber":  # point fits saved before the scatter model was recorded
        law = model_from_spec({**spec, "likelihood": {"name": "normal"}}).law
        spec["likelihood"] = {"name": "lognormal" if law.log_output else "normal"}
    return model_from_spec(spec)


def is_point_fit(fit: xr.DataTree) -> bool:
    """Whether ``fit`` is a point fit (:func:`scaling.fit_point`: best fit and bootstrap replicates)."""
    return fit.attrs.get("kind") == "point" or "sample" in fit["posterior"].dims


def transform_inputs(law: Law, x: Mapping[str, Any] | Any) -> dict[str, np.ndarray]:
    """Raw inputs -> transformed (log10 / decimal year) arrays, keyed by law input name."""
    from scaling.data.tables import to_decimal_year

    if not isinstance(x, Mapping):
        if len(law.inputs) != 1:
            raise ValueError(f"Law {law.name!r} has inputs {[i.name for i in law.inputs]}; pass a dict of arrays.")
        x = {law.inputs[0].name: x}
    out = {}
    for inp in law.inputs:
        if inp.name not in x:
            raise ValueError(f"Missing input {inp.name!r} for law {law.name!r} ({inp.doc}).")
        v = x[inp.name]
        if inp.transform == "year":
            s = pd.Series(np.atleast_1d(v))
            out[inp.name] = to_decimal_year(s, inp.name, "predict", s.to_frame()).to_numpy(dtype=float)
        else:
            arr = np.atleast_1d(np.asarray(v, dtype=float))
            if inp.transform == "log10":
                if np.any(arr <= 0):
                    raise ValueError(f"Input {inp.name!r} must be positive (the law uses log10 of it).")
                arr = np.log10(arr)
            out[inp.name] = arr
    return out


def predict(
    fit: xr.DataTree,
    x: Mapping[str, Any] | Any,
    *,
    kind: str = "mean",
    seed: int = 0,
    group: str = "posterior",
    in_group: str | None = None,
) -> xr.DataArray:
    """The law's prediction at new inputs for every posterior (or bootstrap) draw.

    Parameters
    ----------
    fit : a fit from :func:`scaling.fit` or :func:`scaling.fit_point` (single problem).
    x : new inputs in natural units (FLOP, tokens, dates); an array for one-input
        laws, else a dict keyed by the law's input names (e.g. ``{"n": ..., "d": ...}``).
    kind : ``"mean"`` (the law's curve) or ``"predictive"`` (a new observation,
        including the likelihood's noise; Bayesian fits only). A known measurement error is not
        part of a new observation's noise: the predictive is of the quantity itself.
    in_group : for a partially pooled fit, the group (e.g. a model family) to predict for: its own
        parameter draws if the fit has it, else (a group not seen, or None) draws from the population,
        ``p + p_sd z`` with ``z ~ Normal(0, 1)`` per draw (seeded by ``seed``).
    For laws with effective compute, ``x`` includes the date: ``{"x": flop, "t": dates}``.

    Returns
    -------
    DataArray with the fit's sample dims (``chain, draw`` or ``sample``) plus ``grid``.
    """
    if kind not in ("mean", "predictive"):
        raise ValueError(f"The 'kind' parameter of predict must be 'mean' or 'predictive'. Got {kind!r}.")
    if "problem" in fit[group].dims:
        raise ValueError("predict works on one problem; select it first: fit.sel(problem=name).")
    model = model_from_fit(fit)
    law = model.law
    lik = None if is_point_fit(fit) else model.likelihood
    if kind == "predictive" and (lik is None or lik.counts):
        raise ValueError("kind='predictive' needs a Bayesian fit with a continuous likelihood; use kind='mean'.")
    const = fit["constant_data"]
    center = {i.name: float(const[f"center_{i.name}"]) for i in law.inputs}
    y_scale = float(const["y_scale"])
    # NumPy arguments: the program moves them to its device (no eager JAX conversions to compile)
    u = {k: np.asarray(v - center[k]) for k, v in transform_inputs(law, x).items()}
    post = fit[group].to_dataset()
    sample_dims = [d for d in post[law.param_names[0]].dims]
    names = list(law.param_names) + ([] if lik is None else list(lik.param_names))
    flat = {n: np.asarray(post[n].values.reshape(-1)) for n in names}
    flat |= pooled_draws(model, post, in_group, json.loads(fit.attrs.get("groups", "[]")), seed)

    vals = np.asarray(_predictor(law, lik if kind == "predictive" else None, kind)(flat, seed, u, y_scale))
    shape = [post.sizes[d] for d in sample_dims]
    coords = {d: post[d].values for d in sample_dims if d in post.coords}
    return xr.DataArray(vals.reshape(*shape, -1), dims=[*sample_dims, "grid"], coords=coords, name="y")


def pooled_draws(model: Model, post: xr.Dataset, in_group: Any, seen: list, seed: int) -> dict[str, np.ndarray]:
    """Flat draws of the pooled parameters for ``in_group``: its own if it is among the ``seen`` groups,
    else ``p + p_sd z`` with ``z ~ Normal(0, 1)``: a new group drawn from the population."""
    if not model.pooled:
        return {}
    if in_group is not None and str(in_group) in [str(g) for g in seen]:
        return {n: post[f"{n}_group"].sel(group=str(in_group)).values.reshape(-1) for n in model.pooled_names}
    rng = np.random.default_rng([seed, 21])
    out = {}
    for n in model.pooled_names:
        mu, sd = post[n].values.reshape(-1), post[f"{n}_sd"].values.reshape(-1)
        out[n] = mu + sd * rng.standard_normal(mu.shape)
    return out


@lru_cache(maxsize=64)
def _predictor(law: Law, lik: Any, kind: str):
    """Program ``(theta {param: (S,)}, seed, u {input: (G,)}, y_scale) -> (S, G)``: the law's mean
    (``kind="mean"``) or one draw of ``y`` from ``lik`` (``"predictive"``, draw s with the s-th key
    split from ``seed``) for each of the S parameter draws at each grid point. Jitted once per
    law, likelihood and kind (compiled once per shape)."""

    def build():
        def one(theta, key, u, y_scale):
            if kind == "mean":
                return law.mean(u, theta, y_scale)
            return lik.dist(law, law.fn(u, theta), theta, y_scale).sample(key)

        def run(theta, seed, u, y_scale):
            keys = jax.random.split(jax.random.key(seed), next(iter(theta.values())).shape[0])
            return jax.vmap(one, in_axes=(0, 0, None, None))(theta, keys, u, y_scale)

        return run

    return jax.jit(build())
