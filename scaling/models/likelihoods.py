"""Observation models. A likelihood is an argument of a fit, not a subclass.

Each likelihood turns the law's output into a numpyro distribution for ``y``:

* ``lognormal``: ``log y ~ Normal(log mu, sigma)``, sigma in nats (positive laws:
  loss, time horizons, compute);
* ``studentt``: robust version; ``log y ~ StudentT(nu, log mu, sigma)`` for
  positive laws, ``y ~ StudentT(nu, mu, sigma)`` for bounded ones;
* ``normal``: ``y ~ Normal(mu, sigma * y_scale)`` (sigma relative to ``y_scale``);
* ``beta``: ``y ~ Beta(mu phi, (1 - mu) phi)`` for scores strictly in (0, 1);
* ``binomial``: ``k ~ Binomial(n, mu)`` with ``k = round(y n)`` correct answers
  out of ``n`` items, for scores with a known item count.

All log-likelihoods are densities of ``y`` in the data's own units, so fits of
different laws to the same data can be compared with PSIS-LOO.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jax.numpy as jnp

from scaling.errors import ScalingError
from scaling.models.law import Law, Param, override_priors
from scaling.models.priors import Prior

_EPS = 1e-6


@cache
def _beta_class() -> type:
    """numpyro's ``Beta(a, b)`` with its log-density written out (same values for y in (0, 1))::

        log p(y) = (a - 1) log y + (b - 1) log(1 - y) - [lgamma(a) + lgamma(b) - lgamma(a + b)]

    numpyro (0.22) evaluates it through a Dirichlet on ``stack([y, 1 - y])`` and, at every call,
    also ``betaln(a, b)`` for a correction at y = 0 or 1, which the beta likelihood's data check
    excludes (scores strictly between 0 and 1). NUTS evaluates the log-density and its gradient
    at every leapfrog step, so the written-out form saves the Dirichlet and the correction at each
    of them (the gain is in ``bench/RESULTS.md``, W2 and W3). Sampling, support and the other
    methods are numpyro's. Built on first use (numpyro is imported lazily).
    """
    import numpyro.distributions as dist
    from jax.scipy.special import gammaln
    from numpyro.distributions.util import validate_sample

    class Beta(dist.Beta):
        @validate_sample
        def log_prob(self, value):
            a, b = self.concentration1, self.concentration0
            return (
                (a - 1.0) * jnp.log(value) + (b - 1.0) * jnp.log1p(-value) - (gammaln(a) + gammaln(b) - gammaln(a + b))
            )

    return Beta


@dataclass(frozen=True)
class Likelihood:
    """An observation model: nuisance parameters plus what data it accepts."""

    name: str
    params: tuple[Param, ...]
    needs_positive_law: bool = False
    needs_bounded_law: bool = False
    counts: bool = False
    doc: str = ""

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def with_priors(self, priors: Mapping[str, Prior | dict] | None) -> Likelihood:
        if not priors:
            return self
        return replace(self, params=override_priors(self.params, priors, f"likelihood {self.name!r}"))

    def check_law(self, law: Law) -> None:
        """Raise if this likelihood cannot describe the law's output."""
        if self.needs_positive_law and not law.log_output:
            raise ScalingError(
                f"The {self.name!r} likelihood needs a law with positive output; "
                f"{law.name!r} predicts bounded scores. Use 'beta', 'binomial', 'normal' or 'studentt'."
            )
        if self.needs_bounded_law and not law.bounded:
            raise ScalingError(
                f"The {self.name!r} likelihood is for scores in [0, 1]; law {law.name!r} is not "
                f"bounded. Use 'lognormal', 'studentt' or 'normal'."
            )

    def dist(self, law: Law, out, nuis: Mapping[str, Any], y_scale, n_trials=None):
        """The distribution of ``y`` given the law's raw output ``out`` (see module doc)."""
        import numpyro.distributions as dist

        if self.name == "lognormal":
            return dist.LogNormal(out + jnp.log(y_scale), nuis["sigma"])
        if self.name == "studentt":
            if law.log_output:
                base = dist.StudentT(nuis["nu"], out + jnp.log(y_scale), nuis["sigma"])
                return dist.TransformedDistribution(base, dist.transforms.ExpTransform())
            return dist.StudentT(nuis["nu"], out, nuis["sigma"])
        mu = y_scale * jnp.exp(out) if law.log_output else out
        if self.name == "normal":
            return dist.Normal(mu, nuis["sigma"] * y_scale)
        mu = jnp.clip(mu, _EPS, 1.0 - _EPS)
        if self.name == "beta":
            return _beta_class()(mu * nuis["phi"], (1.0 - mu) * nuis["phi"])
        if self.name == "binomial":
            return dist.Binomial(total_count=jnp.round(n_trials).astype(jnp.int32), probs=mu)
        raise AssertionError(self.name)  # pragma: no cover


LIKELIHOODS: dict[str, Likelihood] = {
    lk.name: lk
    for lk in (
        Likelihood(
            "lognormal",
            (Param("sigma", Prior("HalfNormal", scale=0.5), "scatter of log y (nats)"),),
            needs_positive_law=True,
        ),
        Likelihood(
            "studentt",
            (
                Param("sigma", Prior("HalfNormal", scale=0.5), "scale (nats for positive laws)"),
                Param("nu", Prior("Gamma", concentration=2.0, rate=0.1), "degrees of freedom"),
            ),
        ),
        Likelihood(
            "normal",
            (Param("sigma", Prior("HalfNormal", scale=0.5), "scatter of y, in units of y_scale"),),
        ),
        Likelihood(
            "beta",
            (Param("phi", Prior("Gamma", concentration=2.0, rate=0.02), "concentration"),),
            needs_bounded_law=True,
        ),
        Likelihood("binomial", (), needs_bounded_law=True, counts=True),
    )
}


def get_likelihood(likelihood: str | Likelihood, priors: Mapping[str, Prior | dict] | None = None) -> Likelihood:
    """Look up a likelihood by name and apply prior overrides."""
    if isinstance(likelihood, Likelihood):
        return likelihood.with_priors(priors)
    if likelihood not in LIKELIHOODS:
        raise ScalingError(f"Unknown likelihood {likelihood!r}. Choose one of: {', '.join(LIKELIHOODS)}.")
    return LIKELIHOODS[likelihood].with_priors(priors)
