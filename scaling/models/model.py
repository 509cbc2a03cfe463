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

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro import handlers

from scaling.deprecation import renamed
from scaling.errors import ScalingError
from scaling.models.law import Law, Param
from scaling.models.laws import get_law, law_from_spec
from scaling.models.likelihoods import Likelihood, get_likelihood
from scaling.models.priors import Prior, as_prior


def scaling_model(
    law: Law,
    likelihood: Likelihood,
    pooled: tuple[tuple[str, Prior], ...],
    u: dict[str, jax.Array],
    y: jax.Array | None = None,
    *,
    center: dict[str, jax.Array],
    y_scale: jax.Array,
    mask: jax.Array | None = None,
    n_trials: jax.Array | None = None,
    y_err: jax.Array | None = None,
    censor: jax.Array | None = None,
    group: jax.Array | None = None,
    group_mask: jax.Array | None = None,
) -> None:
    """``theta ~ priors; y_i ~ likelihood(law(u_i, theta_{g(i)}), s_i)`` for every point i.

    Parameters
    ----------
    u : centred, transformed inputs per law input (see :mod:`scaling.models.laws`), shape (point,).
    y : observations in the data's units (fractions for binomial), or None to predict.
    center, y_scale : the normalisation, used for the papers' parameters
        (recorded as deterministic sites) and the likelihood's scale.
    mask : boolean (point,), False for padding; padded points add nothing.
    n_trials : item counts (binomial likelihood).
    y_err : each point's known standard error (log scale for positive laws), added in quadrature
        to the likelihood's scatter (see :meth:`Likelihood.dist`).
    censor : per point -1 (the value is at or below y), 0 (observed), +1 (at or above y).
    group, group_mask : per point its group's index; per group, False for padding (partial pooling).

    Partial pooling (non-centred): for each pooled parameter p with prior P and scale prior S,
    ``p ~ P`` (the population mean), ``p_sd ~ S``, ``p_z[j] ~ Normal(0, 1)`` and
    ``p_group[j] = p + p_sd p_z[j]`` for group j; point i uses ``p_group[g(i)]``.
    """
    pool = dict(pooled)
    theta: dict[str, Any] = {}
    per_group: dict[str, Any] = {}
    for p in law.params:
        theta[p.name] = numpyro.sample(p.name, p.prior.to_numpyro())
        if p.name in pool:
            sd = numpyro.sample(f"{p.name}_sd", pool[p.name].to_numpyro())
            with numpyro.plate("group", group_mask.shape[-1]):
                z = numpyro.sample(f"{p.name}_z", dist.Normal(0.0, 1.0))
            per_group[p.name] = numpyro.deterministic(f"{p.name}_group", theta[p.name] + sd * z)
    nuis = {p.name: numpyro.sample(p.name, p.prior.to_numpyro()) for p in likelihood.params}
    for name, value in law.physical(theta, center, y_scale).items():
        numpyro.deterministic(name, value)
    if per_group:
        for name, value in law.physical({**theta, **per_group}, center, y_scale).items():
            if jnp.ndim(value) > 0 and name not in per_group:  # the papers' parameters that vary by group
                numpyro.deterministic(f"{name}_group", value)
        theta = {**theta, **{k: v[group] for k, v in per_group.items()}}
    out = law.fn(u, theta)
    n = out.shape[-1]
    fn = likelihood.dist(law, out, nuis, y_scale, n_trials, y_err=y_err, censor=censor)
    obs = None if y is None else (jnp.round(y * n_trials) if likelihood.counts else y)
    with numpyro.plate("point", n):
        with handlers.mask(mask=mask) if mask is not None else nullcontext():
            numpyro.sample("y", fn, obs=obs)


def default_pool_prior(param: Param) -> Prior:
    """Default prior of a pooled parameter's between-group scale ``p_sd``: ``HalfNormal(s / 2)``,
    half the scale ``s`` of the parameter's own (Normal or StudentT) prior: groups are expected to
    differ by less than the prior's width."""
    return Prior("HalfNormal", scale=0.5 * param.prior.kwargs().get("scale", 1.0))


POOLABLE = ("Normal", "StudentT")


@dataclass(frozen=True)
class Model:
    """A law and a likelihood that can describe its output, resolved once (see :func:`resolve`).

    Optional structure (all part of the compiled program, so part of the cache key):

    * ``pooled``: law parameters that vary by group, each with the prior of its between-group
      scale (partial pooling, see :func:`scaling_model`); the data then need a group column;
    * ``measurement_error``: each point carries its own known standard error (``y_err``);
    * ``censored``: each point carries a censoring code (``censor``; see :meth:`Likelihood.dist`).

    Effective compute (a date input) is a law option (``effective_compute=True``).
    Hashable: the compiled programs of the engine, point fits and predictions are cached per model.
    """

    law: Law
    likelihood: Likelihood
    pooled: tuple[tuple[str, Prior], ...] = ()
    measurement_error: bool = False
    censored: bool = False

    def __post_init__(self) -> None:
        self.likelihood.check_law(self.law)
        params = {p.name: p for p in self.law.params}
        for name, _ in self.pooled:
            if name not in params:
                raise ScalingError(
                    f"pooled names {name!r}, which is not a parameter of law {self.law.name!r}; "
                    f"its parameters are {list(params)}."
                )
            if params[name].prior.dist not in POOLABLE:
                raise ScalingError(
                    f"pooled parameter {name!r} of law {self.law.name!r} has a {params[name].prior.dist} prior; "
                    f"partial pooling (population mean + scale x offset) needs an unbounded prior "
                    f"({' or '.join(POOLABLE)}). Pool another parameter, or override its prior."
                )
        if self.measurement_error and not self.likelihood.has_scale:
            raise ScalingError(
                f"Known measurement error (y_err) adds to a likelihood's scatter; the {self.likelihood.name!r} "
                f"likelihood has none. Use 'lognormal', 'normal' or 'studentt' "
                f"('binomial' already counts the sampling error of a score)."
            )
        if self.censored and not self.likelihood.has_cdf:
            raise ScalingError(
                f"Censoring needs a likelihood with a CDF; the {self.likelihood.name!r} likelihood has none "
                f"here. Use 'lognormal', 'normal' or 'binomial'."
            )

    @property
    def name(self) -> str:
        return self.law.name

    @property
    def pooled_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.pooled)

    @property
    def param_names(self) -> tuple[str, ...]:
        """The population-level parameters: the law's, the pooled scales, then the likelihood's."""
        return (*self.law.param_names, *(f"{n}_sd" for n in self.pooled_names), *self.likelihood.param_names)

    @property
    def group_names(self) -> tuple[str, ...]:
        """Posterior variables with a ``group`` dim: offsets, per-group parameters and papers' parameters."""
        if not self.pooled:
            return ()
        names = [f"{n}_{s}" for n in self.pooled_names for s in ("z", "group")]
        theta = {n: jnp.full(2, 0.5) if n in self.pooled_names else 0.5 for n in self.law.param_names}
        phys = self.law.physical(theta, {i.name: 0.0 for i in self.law.inputs}, 1.0)
        return (*names, *(f"{n}_group" for n, v in phys.items() if jnp.ndim(v) > 0 and n not in self.pooled_names))

    def spec(self) -> dict[str, Any]:
        """Serialisable description (law name, options and priors; likelihood name and priors;
        pooled parameters with their scale priors, measurement error, censoring when used)."""
        priors = {p.name: p.prior.to_dict() for p in self.likelihood.params}
        out: dict[str, Any] = {
            "law": self.law.spec(),
            "likelihood": {"name": self.likelihood.name, "priors": priors},
        }
        if self.pooled:
            out["pooled"] = {name: prior.to_dict() for name, prior in self.pooled}
        if self.measurement_error:
            out["measurement_error"] = True
        if self.censored:
            out["censored"] = True
        return out

    def numpyro(self) -> Any:
        """The numpyro model function: :func:`scaling_model` with this law, likelihood and pooling bound."""
        return partial(scaling_model, self.law, self.likelihood, self.pooled)


def as_pooled(law: Law, pooled: Sequence[str] | Mapping[str, Any] | None) -> tuple[tuple[str, Prior], ...]:
    """``pooled`` as ``((name, scale prior), ...)``: names (default scale priors,
    :func:`default_pool_prior`) or a mapping name -> prior of its between-group scale (None: default)."""
    if not pooled:
        return ()
    if isinstance(pooled, str):
        pooled = (pooled,)
    items = pooled.items() if isinstance(pooled, Mapping) else ((name, None) for name in pooled)
    params = {p.name: p for p in law.params}
    out = []
    for name, prior in items:
        if name not in params:
            raise ScalingError(
                f"pooled names {name!r}, which is not a parameter of law {law.name!r}; "
                f"its parameters are {list(params)}."
            )
        out.append((name, default_pool_prior(params[name]) if prior is None else as_prior(prior)))
    return tuple(out)


@renamed(options="law_options")
def resolve(
    law: str | Law | Model,
    likelihood: str | Likelihood | None = None,
    *,
    priors: Mapping[str, Any] | None = None,
    law_options: Mapping[str, Any] | None = None,
    pooled: Sequence[str] | Mapping[str, Any] | None = None,
    measurement_error: bool = False,
    censored: bool = False,
) -> Model:
    """The :class:`Model` for a law name (or :class:`~scaling.models.law.Law`), its ``law_options``
    (e.g. ``{"floor": 0.25}``; ``options`` is their deprecated name), a likelihood name (default: the
    law's) and prior overrides by parameter name (split between the law's and the likelihood's parameters).

    ``pooled``: law parameters that vary by group (names, or a mapping name -> prior of the
    between-group scale); ``measurement_error``, ``censored``: the data carry known standard errors
    or censoring codes (see :class:`Model`).

    A :class:`Model` is returned as it is (giving other arguments with it is an error).

    >>> resolve("logistic", law_options={"floor": 0.25}).param_names
    ('ceiling', 'slope', 'midpoint', 'phi')
    """
    if isinstance(law, Model):
        if likelihood is not None or priors or law_options or pooled or measurement_error or censored:
            raise ScalingError(
                "A resolved Model already has its likelihood, priors, law options and structure; pass the law name."
            )
        return law
    base = get_law(law, **(law_options or {}))
    lik = get_likelihood(likelihood or base.default_likelihood)
    priors = dict(priors or {})
    lik_names = set(lik.param_names)
    base = base.with_priors({k: v for k, v in priors.items() if k not in lik_names})
    lik = lik.with_priors({k: v for k, v in priors.items() if k in lik_names})
    return Model(base, lik, as_pooled(base, pooled), bool(measurement_error), bool(censored))


def resolve_structure(
    law: str | Law | Model,
    likelihood: str | Likelihood | None,
    priors: Mapping[str, Any] | None,
    law_options: Mapping[str, Any] | None,
    y_err: str | None,
    y_low: str | None,
    censored: str | None,
    pooled: Sequence[str] | Mapping[str, Any] | None,
    date: str | None,
) -> tuple[Model, dict[str, Any]]:
    """The :class:`Model` for :func:`scaling.fit`'s arguments, its structure read off the columns given:
    ``date`` turns on effective compute, ``y_err``/``y_low`` known measurement error, ``censored``
    censoring, ``pooled`` partial pooling; and the ``censored``/``date`` arguments of
    :func:`scaling.data.preparation.prepare`."""
    if isinstance(law, Model):
        return law, {"censored": censored, "date": date}
    options = dict(law_options or {})
    if date is not None:
        options.setdefault("effective_compute", True)
    model = resolve(
        law,
        likelihood,
        priors=priors,
        law_options=options,
        pooled=pooled,
        measurement_error=y_err is not None or y_low is not None,
        censored=censored is not None,
    )
    return model, {"censored": censored, "date": date}


def model_from_spec(spec: Mapping[str, Any]) -> Model:
    """Rebuild the :class:`Model` from :meth:`Model.spec` output (e.g. a saved fit's ``spec`` attr)."""
    lk = spec["likelihood"]
    law = law_from_spec(spec["law"])
    return Model(
        law,
        get_likelihood(lk["name"], lk.get("priors")),
        as_pooled(law, spec.get("pooled")),
        bool(spec.get("measurement_error", False)),
        bool(spec.get("censored", False)),
    )
