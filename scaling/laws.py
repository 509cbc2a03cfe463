"""Scaling laws: pure JAX functional forms plus parameter specs.

Every law is written for **one problem and one parameter draw**: ``fn(u, theta)``
takes a dict of 1-D input arrays ``u`` and a dict of scalar parameters ``theta``
and returns one prediction per point. Batching over draws or problems is added
by ``jax.vmap``.

Geometry. Laws see *normalised* inputs and outputs so that one set of default
priors works for FLOP counts of 1e18 and 1e26 alike:

* inputs with ``transform="log10"`` enter as ``u = log10(x) - c`` (decades from
  the data's centre ``c``, the mean of ``log10(x)``); ``transform="year"``
  enters as ``u = year - c`` (years, decimal);
* positive outputs are modelled relative to ``y_scale`` (the geometric mean of
  ``y``), and amplitudes are log-scale: ``fn`` returns ``log(mu / y_scale)``
  (``log_output=True``). Bounded laws (scores in [0, 1]) return ``mu`` itself.

The parameters in the papers' conventions are recovered by ``law.physical``
(stored as deterministic sites, so they appear in every posterior) and mapped
back by ``law.from_physical``. Each law's docstring gives the mapping.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import jax
import jax.numpy as jnp

from .priors import Prior, as_prior

LN10 = math.log(10.0)
LN2 = math.log(2.0)
TRANSFORMS = ("log10", "year", "linear")


@dataclass(frozen=True)
class Input:
    """One input of a law: internal ``name``, ``transform`` and a unit ``doc``."""

    name: str
    transform: str
    doc: str = ""


@dataclass(frozen=True)
class Param:
    """A sampled parameter: ``name``, default ``prior`` (data) and ``doc`` with units."""

    name: str
    prior: Prior
    doc: str = ""


@dataclass(frozen=True)
class Law:
    """A scaling law: a pure function plus everything needed to fit and report it.

    Attributes
    ----------
    name : registry key.
    formula : the law in the papers' notation.
    inputs : the law's inputs (order = order of data columns given by the user).
    params : sampled parameters with default priors.
    fn : ``fn(u, theta) -> array``; ``log(mu / y_scale)`` if ``log_output`` else ``mu``.
    log_output : whether ``fn`` returns a log prediction (positive laws).
    bounded : whether predictions lie in [0, 1] (scores).
    physical : ``physical(theta, center, y_scale) -> dict`` of the papers' parameters.
    from_physical : inverse of ``physical`` for the parameters it changes.
    default_likelihood : likelihood used when none is given.
    options : the factory options that built this law (for serialisation).
    """

    name: str
    formula: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    fn: Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]
    log_output: bool
    bounded: bool
    physical: Callable[..., dict[str, jax.Array]]
    from_physical: Callable[..., dict[str, jax.Array]]
    default_likelihood: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def physical_names(self) -> tuple[str, ...]:
        """Names of the papers' parameters that :attr:`physical` adds to every posterior."""
        theta = {n: 0.5 for n in self.param_names}
        return tuple(self.physical(theta, {i.name: 0.0 for i in self.inputs}, 1.0))

    def with_priors(self, priors: Mapping[str, Prior | dict] | None) -> Law:
        """A copy with some default priors replaced (validated by name)."""
        if not priors:
            return self
        return replace(self, params=override_priors(self.params, priors, f"law {self.name!r}"))

    def mean(self, u: Mapping[str, jax.Array], theta: Mapping[str, jax.Array], y_scale=1.0):
        """Predicted mean in the data's units: ``y_scale * exp(fn)`` or ``fn``."""
        out = self.fn(u, theta)
        return y_scale * jnp.exp(out) if self.log_output else out

    def spec(self) -> dict[str, Any]:
        """Serialisable description: name, options and priors."""
        return {
            "name": self.name,
            "options": dict(self.options),
            "priors": {p.name: p.prior.to_dict() for p in self.params},
        }


def override_priors(params: tuple[Param, ...], priors: Mapping[str, Prior | dict], owner: str) -> tuple[Param, ...]:
    """``params`` with the priors named in ``priors`` replaced; unknown names raise."""
    names = [p.name for p in params]
    unknown = sorted(set(priors) - set(names))
    if unknown:
        raise ValueError(f"Prior override(s) {unknown} do not name parameters of {owner}; its parameters are {names}.")
    return tuple(replace(p, prior=as_prior(priors[p.name])) if p.name in priors else p for p in params)


def _t() -> Input:
    return Input("t", "year", "date (ISO date or decimal year); enters as years from c")


def _x(doc: str = "x in its natural units (e.g. training FLOP); enters as log10(x) - c") -> Input:
    return Input("x", "log10", doc)


# --------------------------------------------------------------------------- laws
@cache
def power_law() -> Law:
    r"""Pure power law, ``y = A * x^(-alpha)``.

    Internal form: ``log(mu / y_scale) = log_y0 - alpha * ln(10) * u`` with
    ``u = log10(x) - c``. ``log_y0`` is the log of the prediction at the data's
    centre ``x0 = 10^c`` relative to ``y_scale``.

    Papers' parameters: ``log_A = log_y0 + ln(y_scale) + alpha * ln(10) * c``
    (natural log of A, x in its natural units); ``alpha`` is unchanged. A
    negative ``alpha`` means y *grows* with x.
    """

    def fn(u, th):
        return th["log_y0"] - th["alpha"] * LN10 * u["x"]

    def physical(th, c, ys):
        return {"log_A": th["log_y0"] + jnp.log(ys) + th["alpha"] * LN10 * c["x"]}

    def from_physical(ph, c, ys):
        return {"log_y0": ph["log_A"] - jnp.log(ys) - ph["alpha"] * LN10 * c["x"]}

    return Law(
        name="power_law",
        formula="y = A * x^(-alpha)",
        inputs=(_x(),),
        params=(
            Param("log_y0", Prior("Normal", loc=0.0, scale=2.0), "log(y/y_scale) at x0 (nats)"),
            Param("alpha", Prior("Normal", loc=0.0, scale=1.0), "exponent (dimensionless)"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


@cache
def saturating_power_law() -> Law:
    r"""Power law with an irreducible term, ``y = E + A * x^(-alpha)``.

    Internal form, chosen for sampling geometry (the data pin down the level and
    the local slope at their centre ``x0``; only the curvature is left to learn):

    * ``log_y0``: log of the prediction at ``x0`` relative to ``y_scale``;
    * ``slope0``: the local log-log exponent at ``x0``, ``-d ln y / d ln x = alpha (1 - e_frac)``;
    * ``e_frac`` in (0, 1): the irreducible share of the prediction at ``x0``;

    ``alpha = slope0 / (1 - e_frac)`` and
    ``log(mu / y_scale) = log_y0 + logaddexp(log e_frac, log(1 - e_frac) - alpha ln(10) u)``.

    Papers' parameters: ``alpha``, ``E = y_scale e_frac exp(log_y0)`` (units of y),
    ``log_A = log_y0 + log(1 - e_frac) + ln(y_scale) + alpha ln(10) c``.
    """

    def alpha(th):
        return th["slope0"] / (1.0 - th["e_frac"])

    def fn(u, th):
        f = th["e_frac"]
        return th["log_y0"] + jnp.logaddexp(jnp.log(f), jnp.log1p(-f) - alpha(th) * LN10 * u["x"])

    def physical(th, c, ys):
        return {
            "alpha": alpha(th),
            "E": ys * th["e_frac"] * jnp.exp(th["log_y0"]),
            "log_A": th["log_y0"] + jnp.log1p(-th["e_frac"]) + jnp.log(ys) + alpha(th) * LN10 * c["x"],
        }

    def from_physical(ph, c, ys):
        e = ph["E"] / ys
        a0 = jnp.exp(ph["log_A"] - jnp.log(ys) - ph["alpha"] * LN10 * c["x"])
        frac = e / (e + a0)
        return {"log_y0": jnp.log(e + a0), "e_frac": frac, "slope0": ph["alpha"] * (1.0 - frac)}

    return Law(
        name="saturating_power_law",
        formula="y = E + A * x^(-alpha)",
        inputs=(_x(),),
        params=(
            Param("log_y0", Prior("Normal", loc=0.0, scale=1.0), "log(y/y_scale) at x0 (nats)"),
            Param("slope0", Prior("HalfNormal", scale=1.0), "local log-log exponent at x0 (> 0)"),
            Param("e_frac", Prior("Uniform", low=0.0, high=1.0), "irreducible share of y at x0"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


@cache
def chinchilla() -> Law:
    r"""Chinchilla loss law, ``L(N, D) = E + A / N^alpha + B / D^beta``.

    Computed in the log-sum-exp form of Hoffmann et al. (2022) and Besiroglu
    et al. (2024): ``log L = LSE(a - alpha ln N, b - beta ln D, e)``. Internally
    the inputs are centred (``u_n = log10 N - c_n``, ``u_d = log10 D - c_d``) and
    L is relative to ``y_scale``:
    ``log(mu / y_scale) = LSE(log_a0 - alpha ln10 u_n, log_b0 - beta ln10 u_d, log_e)``.

    Papers' parameters (N in parameters, D in tokens, L in nats/token):
    ``E = y_scale exp(log_e)``, ``a = log A = log_a0 + ln y_scale + alpha ln10 c_n``,
    ``b = log B = log_b0 + ln y_scale + beta ln10 c_d``, ``A = exp(a)``, ``B = exp(b)``.
    """

    def fn(u, th):
        terms = jnp.stack(
            [
                th["log_a0"] - th["alpha"] * LN10 * u["n"],
                th["log_b0"] - th["beta"] * LN10 * u["d"],
                jnp.broadcast_to(th["log_e"], jnp.shape(u["n"])),
            ]
        )
        return jax.scipy.special.logsumexp(terms, axis=0)

    def physical(th, c, ys):
        a = th["log_a0"] + jnp.log(ys) + th["alpha"] * LN10 * c["n"]
        b = th["log_b0"] + jnp.log(ys) + th["beta"] * LN10 * c["d"]
        return {"E": ys * jnp.exp(th["log_e"]), "a": a, "b": b, "A": jnp.exp(a), "B": jnp.exp(b)}

    def from_physical(ph, c, ys):
        return {
            "log_e": jnp.log(ph["E"] / ys),
            "log_a0": ph["a"] - jnp.log(ys) - ph["alpha"] * LN10 * c["n"],
            "log_b0": ph["b"] - jnp.log(ys) - ph["beta"] * LN10 * c["d"],
        }

    return Law(
        name="chinchilla",
        formula="L(N, D) = E + A / N^alpha + B / D^beta",
        inputs=(
            Input("n", "log10", "parameters N (count)"),
            Input("d", "log10", "training tokens D (count)"),
        ),
        params=(
            Param("log_e", Prior("Normal", loc=-1.0, scale=1.5), "log(E/y_scale)"),
            Param("log_a0", Prior("Normal", loc=-1.5, scale=1.5), "log(A N0^-alpha / y_scale)"),
            Param("log_b0", Prior("Normal", loc=-1.5, scale=1.5), "log(B D0^-beta / y_scale)"),
            Param("alpha", Prior("Normal", loc=0.5, scale=0.5), "parameter exponent"),
            Param("beta", Prior("Normal", loc=0.5, scale=0.5), "data exponent"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


@cache
def broken_power_law(irreducible: bool = True) -> Law:
    r"""Smoothly broken power law with one break (Caballero et al. 2022, BNSL).

    Papers' form: ``y = a + b x^(-c0) (1 + (x / d1)^(1/f1))^(-c1 f1)``: slope
    ``c0`` below the break at ``x = d1``, ``c0 + c1`` above it, ``f1`` its
    sharpness (smaller = sharper). With ``irreducible=False``, ``a = 0``.

    Internal form, with ``w = f1 / ln 10`` the break width in decades and
    ``u_b = log10(d1) - c``:
    ``log(mu_pl / y_scale) = log_a0 - alpha ln10 u - delta_alpha ln10 w softplus((u - u_b) / w)``,
    ``log(mu / y_scale) = logaddexp(log_e, log(mu_pl / y_scale))`` if irreducible.

    Papers' parameters: ``c0 = alpha``, ``c1 = delta_alpha``,
    ``log10_d1 = u_b + c``, ``f1 = ln10 w``, ``log_b = log_a0 + ln y_scale + alpha ln10 c``,
    ``a = y_scale exp(log_e)``.
    """

    def fn(u, th):
        w = th["width"]
        lp = (
            th["log_a0"]
            - th["alpha"] * LN10 * u["x"]
            - th["delta_alpha"] * LN10 * w * jax.nn.softplus((u["x"] - th["u_break"]) / w)
        )
        return jnp.logaddexp(th["log_e"], lp) if irreducible else lp

    def physical(th, c, ys):
        out = {
            "log10_x_break": th["u_break"] + c["x"],
            "f1": th["width"] * LN10,
            "log_b": th["log_a0"] + jnp.log(ys) + th["alpha"] * LN10 * c["x"],
        }
        if irreducible:
            out["E"] = ys * jnp.exp(th["log_e"])
        return out

    def from_physical(ph, c, ys):
        out = {
            "u_break": ph["log10_x_break"] - c["x"],
            "width": ph["f1"] / LN10,
            "log_a0": ph["log_b"] - jnp.log(ys) - ph["alpha"] * LN10 * c["x"],
        }
        if irreducible:
            out["log_e"] = jnp.log(ph["E"] / ys)
        return out

    params = (
        Param("log_a0", Prior("Normal", loc=0.0, scale=2.0), "log(b x0^-c0 / y_scale)"),
        Param("alpha", Prior("Normal", loc=0.0, scale=1.0), "slope below the break (c0)"),
        Param("delta_alpha", Prior("Normal", loc=0.0, scale=1.0), "change of slope (c1)"),
        Param("u_break", Prior("Normal", loc=0.0, scale=1.5), "break location (decades from c)"),
        Param("width", Prior("LogNormal", loc=math.log(0.3), scale=0.75), "break width (decades)"),
    )
    if irreducible:
        params = (Param("log_e", Prior("Normal", loc=-1.0, scale=1.5), "log(a/y_scale)"), *params)
    return Law(
        name="broken_power_law",
        formula="y = a + b x^(-c0) (1 + (x/d1)^(1/f1))^(-c1 f1)"
        if irreducible
        else "y = b x^(-c0) (1 + (x/d1)^(1/f1))^(-c1 f1)",
        inputs=(_x(),),
        params=params,
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
        options=(("irreducible", irreducible),),
    )


@cache
def logistic(floor: float | None = None) -> Law:
    r"""Sigmoid in log-compute, for bounded scores in [0, 1].

    ``score = floor + (ceiling - floor) * sigmoid(slope * (log10 C - x0))``.
    ``floor`` is sampled, or fixed when given (e.g. ``floor=0.25``, chance
    accuracy on 4-way multiple choice). ``slope`` is per decade of C.

    Internal form uses ``u = log10 C - c`` and ``midpoint = x0 - c``; papers'
    ``log10_x_mid = midpoint + c``. Scores must be fractions, not percent.
    """
    if floor is not None and not 0.0 <= floor < 1.0:
        raise ValueError(f"The 'floor' option of logistic must be in [0, 1). Got {floor!r} instead.")

    def fn(u, th):
        lo = th["floor"] if floor is None else floor
        return lo + (th["ceiling"] - lo) * jax.nn.sigmoid(th["slope"] * (u["x"] - th["midpoint"]))

    def physical(th, c, ys):
        return {"log10_x_mid": th["midpoint"] + c["x"]}

    def from_physical(ph, c, ys):
        return {"midpoint": ph["log10_x_mid"] - c["x"]}

    params = (
        Param("ceiling", Prior("Uniform", low=0.5, high=1.0), "score reached at high compute"),
        Param("slope", Prior("HalfNormal", scale=3.0), "steepness (per decade of compute)"),
        Param("midpoint", Prior("Normal", loc=0.0, scale=2.0), "half-way point (decades from c)"),
    )
    if floor is None:
        params = (Param("floor", Prior("Uniform", low=0.0, high=0.5), "score at low compute"), *params)
    return Law(
        name="logistic",
        formula="score = floor + (ceiling - floor) * sigmoid(slope * (log10 C - x0))",
        inputs=(_x("compute C in its natural units (e.g. FLOP); enters as log10(C) - c"),),
        params=params,
        fn=fn,
        log_output=False,
        bounded=True,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="beta",
        options=(("floor", floor),),
    )


@cache
def exponential_trend() -> Law:
    r"""Exponential trend in time: ``log y = log y0 + g (t - t0)``.

    ``t`` is the date as a decimal year (dates in data are converted), centred
    at the data's mean year ``c``. ``growth`` g is in nats per year.

    Derived: ``doubling_time_days = 365.25 ln 2 / g`` (negative = halving time),
    ``annual_factor = exp(g)`` (e.g. 10 for "10x a year"),
    ``y_at_center = y_scale exp(log_y0)``: the trend's value at year ``c``.
    """

    def fn(u, th):
        return th["log_y0"] + th["growth"] * u["t"]

    def physical(th, c, ys):
        return {
            "doubling_time_days": 365.25 * LN2 / th["growth"],
            "annual_factor": jnp.exp(th["growth"]),
            "y_at_center": ys * jnp.exp(th["log_y0"]),
        }

    def from_physical(ph, c, ys):
        return {"log_y0": jnp.log(ph["y_at_center"] / ys)}

    return Law(
        name="exponential_trend",
        formula="log y = log y0 + g * (t - t0); doubling time = ln 2 / g",
        inputs=(_t(),),
        params=(
            Param("log_y0", Prior("Normal", loc=0.0, scale=3.0), "log(y/y_scale) at year c"),
            Param("growth", Prior("Normal", loc=0.0, scale=2.0), "growth rate (nats per year)"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


@cache
def quadratic_trend() -> Law:
    r"""Trend whose growth rate changes linearly in time: ``log y = log y0 + g (t - c) + k (t - c)^2 / 2``.

    ``k > 0`` is super-exponential (accelerating: doubling times shrink), ``k < 0`` a
    slowdown; ``k = 0`` is :func:`exponential_trend`. ``t`` in decimal years.

    Derived: ``doubling_time_days = 365.25 ln 2 / g`` at the data's mean year ``c``;
    ``curvature`` ``k`` in nats per year squared.
    """

    def fn(u, th):
        return th["log_y0"] + th["growth"] * u["t"] + 0.5 * th["curvature"] * u["t"] ** 2

    def physical(th, c, ys):
        return {"doubling_time_days": 365.25 * LN2 / th["growth"], "y_at_center": ys * jnp.exp(th["log_y0"])}

    def from_physical(ph, c, ys):
        return {"log_y0": jnp.log(ph["y_at_center"] / ys)}

    return Law(
        name="quadratic_trend",
        formula="log y = log y0 + g (t - t0) + k (t - t0)^2 / 2; k > 0 super-exponential",
        inputs=(_t(),),
        params=(
            Param("log_y0", Prior("Normal", loc=0.0, scale=3.0), "log(y/y_scale) at year c"),
            Param("growth", Prior("Normal", loc=0.0, scale=2.0), "growth rate at year c (nats per year)"),
            Param("curvature", Prior("Normal", loc=0.0, scale=0.5), "change of the growth rate (nats/year^2)"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


@cache
def logistic_trend() -> Law:
    r"""Saturating trend: exponential growth that levels off at a ceiling.

    ``log y = L - softplus(g (m - t))``: for ``t`` well before the knee ``m`` this is
    exponential growth at rate ``g`` (nats per year); after it, ``y`` approaches
    the ceiling ``exp(L)``. ``t`` in decimal years, centred at the data's mean year ``c``.

    Derived: ``ceiling = y_scale exp(L)`` (units of y), ``knee_year = m + c``,
    ``doubling_time_days = 365.25 ln 2 / g`` (early, exponential phase).
    """

    def fn(u, th):
        return th["log_ceiling"] - jax.nn.softplus(th["growth"] * (th["knee"] - u["t"]))

    def physical(th, c, ys):
        return {
            "ceiling": ys * jnp.exp(th["log_ceiling"]),
            "knee_year": th["knee"] + c["t"],
            "doubling_time_days": 365.25 * LN2 / th["growth"],
        }

    def from_physical(ph, c, ys):
        return {"log_ceiling": jnp.log(ph["ceiling"] / ys), "knee": ph["knee_year"] - c["t"]}

    return Law(
        name="logistic_trend",
        formula="log y = L - softplus(g (m - t)); ceiling exp(L), knee at year m",
        inputs=(_t(),),
        params=(
            Param("log_ceiling", Prior("Normal", loc=3.0, scale=3.0), "log(ceiling / y_scale)"),
            Param("growth", Prior("HalfNormal", scale=2.0), "early growth rate (nats per year)"),
            Param("knee", Prior("Normal", loc=2.0, scale=4.0), "year of the knee, from c"),
        ),
        fn=fn,
        log_output=True,
        bounded=False,
        physical=physical,
        from_physical=from_physical,
        default_likelihood="lognormal",
    )


LAWS: dict[str, Callable[..., Law]] = {
    "power_law": power_law,
    "saturating_power_law": saturating_power_law,
    "chinchilla": chinchilla,
    "broken_power_law": broken_power_law,
    "logistic": logistic,
    "exponential_trend": exponential_trend,
    "quadratic_trend": quadratic_trend,
    "logistic_trend": logistic_trend,
}


def get_law(law: str | Law, priors: Mapping[str, Prior | dict] | None = None, **options: Any) -> Law:
    """Look up a law by name (with factory ``options``) and apply prior overrides.

    >>> get_law("logistic", floor=0.25).param_names
    ('ceiling', 'slope', 'midpoint')
    """
    if isinstance(law, Law):
        if options:
            raise ValueError("Law options can only be given with a law name, not a Law object.")
        return law.with_priors(priors)
    if law not in LAWS:
        raise ValueError(f"Unknown law {law!r}. Choose one of: {', '.join(LAWS)}.")
    factory = LAWS[law]
    try:  # options spelled out with their defaults, so that equal choices give the same (cached) law
        bound = inspect.signature(factory).bind(**options)
    except TypeError as err:
        raise ValueError(f"Invalid options {options} for law {law!r}: {err}") from None
    bound.apply_defaults()
    return factory(**bound.arguments).with_priors(priors)


def law_from_spec(spec: Mapping[str, Any]) -> Law:
    """Rebuild a law from :meth:`Law.spec` output (e.g. a saved fit's attrs)."""
    priors = {k: Prior.from_dict(v) for k, v in spec.get("priors", {}).items()}
    return get_law(spec["name"], priors=priors, **spec.get("options", {}))
