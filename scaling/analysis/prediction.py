"""Predictions from a fit at new inputs, draw by draw, in float64.

The law's raw output (``log(mu / y_scale)`` for positive laws, ``mu`` for scores) is evaluated
by one compiled program per law; everything after it (the exponential, the observation scatter)
is computed in float64 NumPy, in log space for positive laws, so predictions at 1e30 FLOP or
1e-6 minutes neither overflow nor underflow. ``scale="log10"`` returns ``log10 y`` directly.

Predictive draws (``kind="predictive"``), a new observation at ``x``:

* Bayesian fits: one draw of the fit's likelihood per posterior draw (lognormal:
  ``ln y = ln mu + sigma z``; Student-t on log y: ``ln y = ln mu + sigma t_nu``; normal:
  ``y = mu + sigma y_scale z``; beta: ``y ~ Beta(mu phi, (1 - mu) phi)``).
* Point fits (:func:`scaling.fit_point`): bootstrap parameter draws plus the residual scatter
  of the best fit, ``r_i = ln y_i - ln mu(x_i)`` for positive laws (``y_i - mu(x_i)`` for
  scores), ``s^2 = sum r_i^2 / (n - k)`` (k the law's parameters: the degrees-of-freedom
  correction) and scatter ``s t_{n-k}`` (Student-t with ``n - k`` degrees of freedom, the
  predictive distribution of a new residual when the variance is estimated; Gelman et al.,
  BDA3 section 14.3). Positive laws: ``ln y = ln mu_b + s t`` (lognormal-t scatter).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jax
import numpy as np
import pandas as pd
import xarray as xr

from scaling.errors import ScalingError
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
            raise ScalingError(f"Law {law.name!r} has inputs {[i.name for i in law.inputs]}; pass a dict of arrays.")
        x = {law.inputs[0].name: x}
    out = {}
    for inp in law.inputs:
        if inp.name not in x:
            raise ScalingError(f"Missing input {inp.name!r} for law {law.name!r} ({inp.doc}).")
        v = x[inp.name]
        if inp.transform == "year":
            s = pd.Series(np.atleast_1d(v))
            out[inp.name] = to_decimal_year(s, inp.name, "predict", s.to_frame()).to_numpy(dtype=float)
        else:
            arr = np.atleast_1d(np.asarray(v, dtype=float))
            if inp.transform == "log10":
                if np.any(arr <= 0):
                    raise ScalingError(f"Input {inp.name!r} must be positive (the law uses log10 of it).")
                arr = np.log10(arr)
            out[inp.name] = arr
    return out


def _diagnosis_warning(fit: xr.DataTree) -> str | None:
    """The diagnostics gate's reason when ``fit`` fails it, else None."""
    from scaling.analysis.diagnostics import diagnose

    try:
        gate = diagnose(fit)
    except (KeyError, ValueError):  # no sampler statistics to check (e.g. built by hand)
        return None
    return None if gate.ok else (gate.reasons[0] if gate.reasons else "diagnostics gate failed")


def predict(
    fit: xr.DataTree,
    x: Mapping[str, Any] | Any,
    *,
    kind: str = "mean",
    seed: int = 0,
    group: str = "posterior",
    scale: str = "data",
    check: bool = True,
    in_group: str | None = None,
) -> xr.DataArray:
    """The law's prediction at new inputs for every posterior (or bootstrap) draw, float64.

    Parameters
    ----------
    fit : a fit from :func:`scaling.fit` or :func:`scaling.fit_point` (single problem).
    x : new inputs in natural units (FLOP, tokens, dates); an array for one-input
        laws, else a dict keyed by the law's input names (e.g. ``{"n": ..., "d": ...}``).
    kind : ``"mean"`` (the law's curve) or ``"predictive"`` (a new observation, including the
        likelihood's scatter, or for point fits the residual scatter; see the module doc). A known
        measurement error is not part of a new observation's scatter: the predictive is of the quantity itself.
    scale : ``"data"`` (units of y) or ``"log10"`` (``log10 y``; positive laws only).
    check : warn (``UserWarning``) when the fit fails :func:`scaling.diagnose`.
    in_group : for a partially pooled fit, the group (e.g. a model family) to predict for: its own
        parameter draws if the fit has it, else (a group not seen, or None) draws from the population,
        ``p + p_sd z`` with ``z ~ Normal(0, 1)`` per draw (seeded by ``seed``). For laws with
        effective compute, ``x`` includes the date: ``{"x": flop, "t": dates}``.

    Returns
    -------
    DataArray with the fit's sample dims (``chain, draw`` or ``sample``) plus ``grid``.
    """
    if kind not in ("mean", "predictive"):
        raise ScalingError(f"The 'kind' parameter of predict must be 'mean' or 'predictive'. Got {kind!r}.")
    if scale not in ("data", "log10"):
        raise ScalingError(f"The 'scale' parameter of predict must be 'data' or 'log10'. Got {scale!r}.")
    if "problem" in fit[group].dims:
        raise ScalingError("predict works on one problem; select it first: fit.sel(problem=name).")
    model = model_from_fit(fit)
    law = model.law
    if scale == "log10" and not law.log_output:
        raise ScalingError(f"scale='log10' needs a positive law; {law.name!r} predicts scores. Use scale='data'.")
    if kind == "predictive" and not is_point_fit(fit) and model.likelihood.counts:
        raise ScalingError("kind='predictive' needs a continuous likelihood (not binomial counts); use kind='mean'.")
    if check:
        why = _diagnosis_warning(fit)
        if why is not None:
            warnings.warn(f"This fit fails the diagnostics gate ({why}); its predictions are unreliable.", stacklevel=2)
    post = fit[group].to_dataset()
    sample_dims = list(post[law.param_names[0]].dims)
    out = law_outputs(fit, x, group=group, in_group=in_group, seed=seed)
    rng = np.random.default_rng(seed)
    vals = observe(fit, out, kind, rng, scale=scale, group=group)
    shape = [post.sizes[d] for d in sample_dims]
    coords = {d: post[d].values for d in sample_dims if d in post.coords}
    return xr.DataArray(vals.reshape(*shape, -1), dims=[*sample_dims, "grid"], coords=coords, name="y")


def law_outputs(
    fit: xr.DataTree,
    x: Mapping[str, Any] | Any,
    *,
    group: str = "posterior",
    in_group: str | None = None,
    seed: int = 0,
) -> np.ndarray:
    """The law's raw output (``log(mu / y_scale)`` for positive laws, ``mu`` for scores) at new
    inputs ``x`` (natural units), one row per draw of ``group``: ``(S, G)``, float64. Pooled
    parameters as in :func:`predict` (``in_group``)."""
    model = model_from_fit(fit)
    law = model.law
    const = fit["constant_data"]
    center = {i.name: float(const[f"center_{i.name}"]) for i in law.inputs}
    u = {k: np.asarray(v - center[k]) for k, v in transform_inputs(law, x).items()}
    post = fit[group].to_dataset()
    theta = {n: np.asarray(post[n].values.reshape(-1)) for n in law.param_names}
    theta |= pooled_draws(model, post, in_group, json.loads(fit.attrs.get("groups", "[]")), seed)
    return np.asarray(_outputs(law)(theta, u), dtype=np.float64)


def point_scatter(fit: xr.DataTree) -> tuple[float, float]:
    """``(s, df)`` of a point fit's residual scatter: ``s^2 = RSS / (n - k)`` on ``ln y``
    (positive laws) or ``y`` (scores) at the best fit, ``df = n - k`` (see the module doc)."""
    law = model_from_fit(fit).law
    const = fit["constant_data"]
    center = {i.name: float(const[f"center_{i.name}"]) for i in law.inputs}
    x_train = {i.name: const[i.name].values for i in law.inputs}
    u = {k: np.asarray(v - center[k]) for k, v in transform_inputs(law, x_train).items()}
    best = {k: np.atleast_1d(float(fit["point_estimate"][k])) for k in law.param_names}
    out = np.asarray(_outputs(law)(best, u), dtype=np.float64)[0]
    y = np.asarray(fit["observed_data"]["y"].values, dtype=np.float64)
    r = np.log(y) - (out + np.log(float(const["y_scale"]))) if law.log_output else y - out
    df = max(len(r) - len(law.params), 1)
    return float(np.sqrt(np.sum(r**2) / df)), float(df)


def observe(
    fit: xr.DataTree,
    out: np.ndarray,
    kind: str,
    rng: np.random.Generator,
    *,
    scale: str = "data",
    group: str = "posterior",
    pick: np.ndarray | None = None,
) -> np.ndarray:
    """Law output ``out`` (S, G) of ``fit``'s draws -> mean or predictive values, float64.

    ``pick`` (S,) selects which of the fit's draws row s used (default: row s is draw s), so that
    the likelihood's nuisance parameters (sigma, nu, phi) match the law's parameters.
    """
    model = model_from_fit(fit)
    law = model.law
    y_scale = float(fit["constant_data"]["y_scale"])
    out = np.asarray(out, dtype=np.float64)
    s_draws = out.shape[0]
    if kind == "mean":
        z = np.zeros_like(out)
        scatter = "none"
    elif is_point_fit(fit):
        s, df = point_scatter(fit)
        z = s * rng.standard_t(df, size=out.shape)
        scatter = "additive"
    else:
        lik = model.likelihood
        post = fit[group].to_dataset()
        nuis = {n: np.asarray(post[n].values.reshape(-1), dtype=np.float64) for n in lik.param_names}
        idx = np.arange(s_draws) if pick is None else np.asarray(pick)
        nuis = {k: v[idx][:, None] for k, v in nuis.items()}
        if lik.name == "lognormal":
            z, scatter = nuis["sigma"] * rng.standard_normal(out.shape), "additive"
        elif lik.name == "studentt":
            z, scatter = nuis["sigma"] * rng.standard_t(np.broadcast_to(nuis["nu"], out.shape)), "additive"
        elif lik.name == "normal":
            z, scatter = nuis["sigma"] * rng.standard_normal(out.shape), "data"
        elif lik.name == "beta":
            mu = np.clip(out, 1e-6, 1 - 1e-6)
            return rng.beta(mu * nuis["phi"], (1 - mu) * nuis["phi"])
        else:
            raise ScalingError(f"kind='predictive' is not available for the {lik.name!r} likelihood; use kind='mean'.")
    if law.log_output:
        log_y = out + np.log(y_scale)  # natural log of y
        if scatter == "data":  # normal likelihood on a positive law: y = mu + sigma y_scale z
            y = np.exp(log_y) + z * y_scale
            if scale == "log10":
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.log10(y)
            return y
        log_y = log_y + z
        if scale == "log10":
            return log_y / np.log(10.0)
        return np.exp(np.clip(log_y, -745.0, 709.0))  # float64 range: no inf, no silent 0
    return out + (z * y_scale if scatter == "data" else z)


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
def _outputs(law: Law):
    """Program ``(theta {param: (S,)}, u {input: (G,)}) -> (S, G)``: the law's raw output
    ``fn(u, theta)`` for each parameter draw (compiled once per law and shape)."""
    return jax.jit(jax.vmap(lambda th, u: law.fn(u, th), in_axes=(0, None)))


@lru_cache(maxsize=64)
def outputs_paired(law: Law):
    """Program ``(theta {param: (S,)}, u {input: (S, G)}) -> (S, G)``: draw s of the parameters
    at row s of the inputs (used to push trajectories through a law, see ``compose``)."""
    return jax.jit(jax.vmap(lambda th, u: law.fn(u, th), in_axes=(0, 0)))
