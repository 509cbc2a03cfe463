"""Laws of compute (or parameters and tokens): power law, saturating power law, Chinchilla,
smoothly broken power law (Caballero et al. 2022) and the logistic benchmark curve; and the
effective-compute option, ``log10 C_eff = log10 C + g (t - t0)``. Each law's docstring gives its
formula, internal form and the mapping to the papers' parameters (see :mod:`scaling.models.law`
for the geometry: centred inputs, outputs relative to ``y_scale``)."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import cache

import jax
import jax.numpy as jnp

from scaling.errors import ScalingError
from scaling.models.law import LN10, Input, Law, Param, _x
from scaling.models.priors import Prior


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
        raise ScalingError(f"The 'floor' option of logistic must be in [0, 1). Got {floor!r} instead.")

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


# --------------------------------------------------------------------------- effective compute
#: Default prior of ``g`` (orders of magnitude of effective compute gained per year from algorithms and
#: data at fixed physical compute). Ho et al. (2024), "Algorithmic progress in language models": the
#: compute needed to reach a given performance halves about every 8 months (95% CI 5-14 months), i.e.
#: ``g = log10(2) / (8 / 12) = 0.45`` OOM/year (CI 0.26-0.72). The prior is centred there with twice
#: that width on the log scale (95% prior interval 0.17-1.2 OOM/year, halving times of 3-21 months):
#: a benchmark or capability metric need not progress at the pace of pretraining loss.
EFFECTIVE_COMPUTE_PRIOR = Prior("LogNormal", loc=math.log(math.log10(2.0) / (8.0 / 12.0)), scale=0.5)


@cache
def with_effective_compute(law: Law) -> Law:
    r"""``law`` with its compute input shifted by the date: effective compute (Ho et al. 2024).

    ``log10 C_eff = log10 C + g (t - t0)``: ``t`` is the release date (decimal year, a second input
    named ``t`` after the law's own), ``t0`` the data's mean date (``center_t`` in a fit) and ``g``
    the orders of magnitude of effective compute gained per year at fixed physical compute
    (prior :data:`EFFECTIVE_COMPUTE_PRIOR`). The law is evaluated at ``C_eff``; its papers'
    parameters refer to compute at ``t0``. Adds the derived ``algorithmic_progress_per_year = 10^g``
    (the factor of effective compute a year brings) and ``compute_halving_months = 12 log10(2) / g``
    (months for the compute needed for a given result to halve; Ho et al.'s headline number).

    Applies to laws whose compute input is ``x`` (power laws, broken power law, logistic).
    """
    if law.inputs[0].name != "x" or law.inputs[0].transform != "log10" or any(i.name == "t" for i in law.inputs):
        raise ScalingError(
            f"Effective compute shifts a law's compute input 'x' by the date; law {law.name!r} has inputs "
            f"{[i.name for i in law.inputs]}. Use it with power_law, saturating_power_law, broken_power_law "
            f"or logistic."
        )
    base_fn, base_physical, base_from = law.fn, law.physical, law.from_physical

    def fn(u, th):
        return base_fn({**u, "x": u["x"] + th["g"] * u["t"]}, th)

    def physical(th, c, ys):
        return {
            **base_physical(th, c, ys),
            "algorithmic_progress_per_year": 10.0 ** th["g"],
            "compute_halving_months": 12.0 * math.log10(2.0) / th["g"],
        }

    def from_physical(ph, c, ys):
        return base_from(ph, c, ys)

    date = Input("t", "year", "release date (ISO date or decimal year); shifts compute by g (t - t0)")
    g = Param("g", EFFECTIVE_COMPUTE_PRIOR, "effective compute gained per year at fixed compute (OOM/year)")
    return replace(
        law,
        formula=f"{law.formula}, with log10 C_eff = log10 C + g (t - t0) in place of C",
        inputs=(*law.inputs, date),
        params=(*law.params, g),
        fn=fn,
        physical=physical,
        from_physical=from_physical,
        options=(*law.options, ("effective_compute", True)),
    )
