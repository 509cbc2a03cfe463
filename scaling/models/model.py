"""One generic NumPyro model, built from a law and a likelihood.

The same function serves NUTS, prior/posterior predictive and pointwise
log-likelihood, as numpyro intends. Law and likelihood are static: bind them
with :func:`functools.partial` (see :func:`build_model`), never pass them as
traced arguments.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
from numpyro import handlers

from scaling.models.law import Law
from scaling.models.likelihoods import Likelihood


def scaling_model(
    law: Law,
    likelihood: Likelihood,
    u: dict[str, jax.Array],
    y: jax.Array | None = None,
    *,
    center: dict[str, jax.Array],
    y_scale: jax.Array,
    mask: jax.Array | None = None,
    n_trials: jax.Array | None = None,
) -> None:
    """``theta ~ priors; y_i ~ likelihood(law(u_i, theta))`` for every point i.

    Parameters
    ----------
    u : centred, transformed inputs per law input (see :mod:`scaling.laws`), shape (point,).
    y : observations in the data's units (fractions for binomial), or None to predict.
    center, y_scale : the normalisation, used for the papers' parameters
        (recorded as deterministic sites) and the likelihood's scale.
    mask : boolean (point,), False for padding; padded points add nothing.
    n_trials : item counts (binomial likelihood).
    """
    theta = {p.name: numpyro.sample(p.name, p.prior.to_numpyro()) for p in law.params}
    nuis = {p.name: numpyro.sample(p.name, p.prior.to_numpyro()) for p in likelihood.params}
    for name, value in law.physical(theta, center, y_scale).items():
        numpyro.deterministic(name, value)
    out = law.fn(u, theta)
    n = out.shape[-1]
    fn = likelihood.dist(law, out, nuis, y_scale, n_trials)
    obs = None if y is None else (jnp.round(y * n_trials) if likelihood.counts else y)
    with numpyro.plate("point", n):
        with handlers.mask(mask=mask) if mask is not None else nullcontext():
            numpyro.sample("y", fn, obs=obs)


def build_model(law: Law, likelihood: Likelihood) -> Any:
    """``scaling_model`` with law and likelihood bound (checked for compatibility)."""
    likelihood.check_law(law)
    return partial(scaling_model, law, likelihood)
