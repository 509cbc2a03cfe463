"""A model resolved once: the law (with its options and priors) and the likelihood (with its priors).

:func:`resolve` turns the names a user gives (``law``, ``likelihood``, ``priors``, ``options``)
into one frozen :class:`Model` at the boundary of every public function; everything downstream
(data preparation, the NUTS engine, point fits, predictions, saved fits) takes that object, and
a saved fit's spec rebuilds the same object (:func:`model_from_spec`).

One generic NumPyro model serves NUTS, prior/posterior predictive and pointwise log-likelihood,
as numpyro intends: :meth:`Model.numpyro` binds the (static) law and likelihood to
:func:`scaling_model`; they are never passed as traced arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
from numpyro import handlers

from scaling.errors import ScalingError
from scaling.models.law import Law
from scaling.models.laws import get_law, law_from_spec
from scaling.models.likelihoods import Likelihood, get_likelihood


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


@dataclass(frozen=True)
class Model:
    """A law and a likelihood that can describe its output, resolved once (see :func:`resolve`).

    Hashable: the compiled programs of the engine, point fits and predictions are cached per model.
    """

    law: Law
    likelihood: Likelihood

    def __post_init__(self) -> None:
        self.likelihood.check_law(self.law)

    @property
    def name(self) -> str:
        return self.law.name

    @property
    def param_names(self) -> tuple[str, ...]:
        """The sampled parameters: the law's, then the likelihood's."""
        return (*self.law.param_names, *self.likelihood.param_names)

    def spec(self) -> dict[str, Any]:
        """Serialisable description (law name, options and priors; likelihood name and priors)."""
        priors = {p.name: p.prior.to_dict() for p in self.likelihood.params}
        return {"law": self.law.spec(), "likelihood": {"name": self.likelihood.name, "priors": priors}}

    def numpyro(self) -> Any:
        """The numpyro model function: :func:`scaling_model` with this law and likelihood bound."""
        return partial(scaling_model, self.law, self.likelihood)


def resolve(
    law: str | Law | Model,
    likelihood: str | Likelihood | None = None,
    *,
    priors: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Model:
    """The :class:`Model` for a law name (or :class:`~scaling.models.law.Law`), its ``options``
    (e.g. ``{"floor": 0.25}``), a likelihood name (default: the law's) and prior overrides by
    parameter name (split between the law's and the likelihood's parameters).

    A :class:`Model` is returned as it is (giving other arguments with it is an error).

    >>> resolve("logistic", options={"floor": 0.25}).param_names
    ('ceiling', 'slope', 'midpoint', 'phi')
    """
    if isinstance(law, Model):
        if likelihood is not None or priors or options:
            raise ScalingError("A resolved Model already has its likelihood, priors and options; pass the law name.")
        return law
    base = get_law(law, **(options or {}))
    lik = get_likelihood(likelihood or base.default_likelihood)
    priors = dict(priors or {})
    lik_names = set(lik.param_names)
    base = base.with_priors({k: v for k, v in priors.items() if k not in lik_names})
    lik = lik.with_priors({k: v for k, v in priors.items() if k in lik_names})
    return Model(base, lik)


def model_from_spec(spec: Mapping[str, Any]) -> Model:
    """Rebuild the :class:`Model` from :meth:`Model.spec` output (e.g. a saved fit's ``spec`` attr)."""
    lk = spec["likelihood"]
    return Model(law_from_spec(spec["law"]), get_likelihood(lk["name"], lk.get("priors")))
