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

Known measurement error. A point with its own standard error ``s_i`` (``y_err``; on the log
scale, i.e. the sd of ``log y``, for positive laws; in units of y otherwise) is observed with
scatter ``sqrt(sigma^2 + s_i^2)`` in place of ``sigma`` (lognormal, studentt; normal:
``sqrt((sigma y_scale)^2 + s_i^2)``): the law's residual scatter plus the measurement's own.

Censoring. A point coded ``-1`` says only that the value is at or below ``y`` (an upper limit),
``+1`` that it is at or above ``y`` (a ceiling, "beyond our ability to estimate"); its
log-likelihood is ``log F(y)`` or ``log(1 - F(y^-))`` with ``F`` the likelihood's CDF:
the normal CDF of ``log y`` (lognormal) or ``y`` (normal), and for ``binomial`` with ``k``
correct out of ``n``, ``P(K <= k) = I_{1-p}(n - k, k + 1)`` and ``P(K >= k) = I_p(k, n - k + 1)``
(regularised incomplete beta). ``binomial`` takes scores of exactly 0 and 1 as they are;
``beta`` refuses them (its density is 0 or infinite there): use ``binomial`` with the item
count, or censor those points with a likelihood that has a CDF.
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


_HALF_LOG_2PI = 0.9189385332046727  # log(2 pi) / 2


def log_gamma(x: jnp.ndarray) -> jnp.ndarray:
    """``log Gamma(x)`` for ``x > 0``: Stirling's series at ``z = x + 5`` (three terms, error < 1e-8),
    less ``log(x (x + 1) ... (x + 4))`` (Abramowitz & Stegun 6.1.41). About five times cheaper than
    ``jax.scipy.special.gammaln`` with its gradient on CPU, and as accurate in float32 (relative
    error ~2e-7 on 1e-3 <= x <= 1e6); the beta likelihood's cost is mostly this function."""
    z = x + 5.0
    shift = jnp.log(x * (x + 1.0)) + jnp.log((x + 2.0) * (x + 3.0)) + jnp.log(x + 4.0)
    r = 1.0 / z
    r2 = r * r
    return (z - 0.5) * jnp.log(z) - z + _HALF_LOG_2PI + r * (1.0 / 12 - r2 * (1.0 / 360 - r2 / 1260)) - shift


@cache
def beta_class() -> type:
    """numpyro's ``Beta(a, b)`` with its log-density written out (same values for y in (0, 1))::

        log p(y) = (a - 1) log y + (b - 1) log(1 - y) - [lgamma(a) + lgamma(b) - lgamma(a + b)]

    with ``lgamma`` from :func:`log_gamma` (the pooled ObsScaling fit of ``bench/models_pooled_pymc.py``
    samples 1.6x faster than with ``jax.scipy.special.gammaln``).

    numpyro (0.22) evaluates it through a Dirichlet on ``stack([y, 1 - y])`` and, at every call,
    also ``betaln(a, b)`` for a correction at y = 0 or 1, which the beta likelihood's data check
    excludes (scores strictly between 0 and 1). NUTS evaluates the log-density and its gradient
    at every leapfrog step, so the written-out form saves the Dirichlet and the correction at each
    of them (the gain is in ``bench/RESULTS.md``, W2 and W3). Sampling, support and the other
    methods are numpyro's. Built on first use (numpyro is imported lazily).
    """
    import numpyro.distributions as dist
    from numpyro.distributions.util import validate_sample

    class Beta(dist.Beta):
        @validate_sample
        def log_prob(self, value):
            a, b = self.concentration1, self.concentration0
            log_norm = log_gamma(a) + log_gamma(b) - log_gamma(a + b)
            return (a - 1.0) * jnp.log(value) + (b - 1.0) * jnp.log1p(-value) - log_norm

    return Beta


@dataclass(frozen=True)
class Likelihood:
    """An observation model: nuisance parameters plus what data it accepts."""

    name: str
    params: tuple[Param, ...]
    needs_positive_law: bool = False
    needs_bounded_law: bool = False
    counts: bool = False
    has_scale: bool = False
    has_cdf: bool = False
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

    def dist(self, law: Law, out, nuis: Mapping[str, Any], y_scale, n_trials=None, *, y_err=None, censor=None):
        """The distribution of ``y`` given the law's raw output ``out`` (see module doc), with each
        point's known standard error ``y_err`` and censoring codes ``censor`` when given."""
        import numpyro.distributions as dist

        def scale(sigma):
            return sigma if y_err is None else jnp.sqrt(sigma**2 + y_err**2)

        if self.name == "lognormal":
            base = dist.LogNormal(out + jnp.log(y_scale), scale(nuis["sigma"]))
            return base if censor is None else _censored_class()(base, censor, "lognormal")
        if self.name == "studentt":
            if law.log_output:
                base = dist.StudentT(nuis["nu"], out + jnp.log(y_scale), scale(nuis["sigma"]))
                return dist.TransformedDistribution(base, dist.transforms.ExpTransform())
            return dist.StudentT(nuis["nu"], out, scale(nuis["sigma"]))
        mu = y_scale * jnp.exp(out) if law.log_output else out
        if self.name == "normal":
            base = dist.Normal(mu, scale(nuis["sigma"] * y_scale))
            return base if censor is None else _censored_class()(base, censor, "normal")
        mu = jnp.clip(mu, _EPS, 1.0 - _EPS)
        if self.name == "beta":
            return beta_class()(mu * nuis["phi"], (1.0 - mu) * nuis["phi"])
        if self.name == "binomial":
            base = dist.Binomial(total_count=jnp.round(n_trials).astype(jnp.int32), probs=mu)
            return base if censor is None else _censored_class()(base, censor, "binomial")
        raise AssertionError(self.name)  # pragma: no cover


@cache
def _censored_class() -> type:
    """A numpyro distribution: ``base`` where ``code == 0``, its log-CDF where ``code < 0`` and its
    log-survival (at or above the value) where ``code > 0`` (see the module doc). Draws are the
    base's (replicates of the value itself, not of the censored record)."""
    import numpyro.distributions as dist
    from jax.scipy.special import betainc
    from jax.scipy.stats import norm

    class Censored(dist.Distribution):
        def __init__(self, base, code, kind):
            self.base, self.code, self.kind = base, code, kind
            super().__init__(batch_shape=jnp.broadcast_shapes(base.batch_shape, jnp.shape(code)), event_shape=())

        @property
        def support(self):
            return self.base.support

        def sample(self, key, sample_shape=()):
            return self.base.sample(key, sample_shape)

        def log_prob(self, value):
            b = self.base
            if self.kind == "binomial":
                n, p = b.total_count * 1.0, b.probs
                k = jnp.clip(value, 0, n)
                tiny = 1e-30
                below = jnp.where(k >= n, 0.0, jnp.log(betainc(jnp.maximum(n - k, 1), k + 1, 1 - p) + tiny))
                above = jnp.where(k <= 0, 0.0, jnp.log(betainc(jnp.maximum(k, 1), n - k + 1, p) + tiny))
            else:
                v = jnp.log(value) if self.kind == "lognormal" else value
                z = (v - b.loc) / b.scale
                below, above = norm.logcdf(z), norm.logcdf(-z)
            return jnp.where(self.code == 0, b.log_prob(value), jnp.where(self.code < 0, below, above))

    return Censored


LIKELIHOODS: dict[str, Likelihood] = {
    lk.name: lk
    for lk in (
        Likelihood(
            "lognormal",
            (Param("sigma", Prior("HalfNormal", scale=0.5), "scatter of log y (nats)"),),
            needs_positive_law=True,
            has_scale=True,
            has_cdf=True,
        ),
        Likelihood(
            "studentt",
            (
                # wider than lognormal's: Student-t's sigma is a scale, not an sd, and the default of date
                # trends, whose scatter about the trend is often 1-2 nats (Epoch's top-10 compute: ~2)
                Param("sigma", Prior("HalfNormal", scale=1.0), "scale (nats for positive laws)"),
                Param("nu", Prior("Gamma", concentration=2.0, rate=0.1), "degrees of freedom"),
            ),
            has_scale=True,
        ),
        Likelihood(
            "normal",
            (Param("sigma", Prior("HalfNormal", scale=0.5), "scatter of y, in units of y_scale"),),
            has_scale=True,
            has_cdf=True,
        ),
        Likelihood(
            "beta",
            (Param("phi", Prior("Gamma", concentration=2.0, rate=0.02), "concentration"),),
            needs_bounded_law=True,
        ),
        Likelihood("binomial", (), needs_bounded_law=True, counts=True, has_cdf=True),
    )
}


def get_likelihood(likelihood: str | Likelihood, priors: Mapping[str, Prior | dict] | None = None) -> Likelihood:
    """Look up a likelihood by name and apply prior overrides."""
    if isinstance(likelihood, Likelihood):
        return likelihood.with_priors(priors)
    if likelihood not in LIKELIHOODS:
        raise ScalingError(f"Unknown likelihood {likelihood!r}. Choose one of: {', '.join(LIKELIHOODS)}.")
    return LIKELIHOODS[likelihood].with_priors(priors)
