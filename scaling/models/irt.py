"""A capability index: a 3-parameter-logistic item-response model over benchmarks (NumPyro).

Model version i has a latent capability ``theta_i``; benchmark j a difficulty ``b_j`` (in the
units of theta), a slope ``a_j > 0`` (per unit of theta) and a floor ``c_j`` (its chance accuracy:
fixed where the answer format fixes it, else estimated), optionally a ceiling ``d_j``:

    mu_ij = c_j + (d_j - c_j) * sigmoid(a_j * (theta_i - b_j))          (d_j = 1 without a ceiling)

This is Birnbaum's (1968) 3PL (4PL with the ceiling) applied to whole benchmarks, as in Epoch AI's
benchmark stitching (Epoch Capabilities Index, ECI), which fits ``sigmoid(a_j (C_i - D_j))`` by
penalised least squares without a floor. Scores are observed through

* ``"beta"``: ``y_ij ~ Beta(mu phi, (1 - mu) phi)`` with a per-benchmark precision ``phi_j``; a
  reported standard error ``s_ij`` adds measurement variance, ``Var = mu (1 - mu) / (1 + phi_j) +
  s_ij^2``, and the beta is moment-matched to it (``phi_eff = mu (1 - mu) / Var - 1``);
* ``"binomial"``: ``round(y n) ~ Binomial(n_ij, mu_ij)`` with the benchmark's item count.

Identification. The logistic is invariant to ``theta -> s theta + t`` (with ``b`` alike and
``a -> a / s``). The model's scale is theta's prior, ``theta_u,i ~ N(0, 1)`` for every model, with
no free population mean or spread. Anchoring, ``anchors = ((m1, v1), (m2, v2))``, is a map of each
posterior draw (:func:`anchor_draws`): ``theta = v1 + (v2 - v1) (theta_u - theta_u[m1]) /
(theta_u[m2] - theta_u[m1])``, ``b`` mapped alike and ``a`` divided by the same factor, so every
``a (theta - b)``, hence every prediction, is unchanged. ECI's website scale
(claude-3-5-sonnet-20240620 = 130, gpt-5-2025-08-07_medium = 150) is the documented default of
:func:`scaling.analysis.fit_index`; without anchors ``theta = theta_u``.

Sampler coordinates. A prior alone fixing location and scale leaves the likelihood's invariance as
a long ridge (pinning two models while sampling a population mean did the same: R-hat 1.24). So
the sampler works in reference units where the likelihood has no invariance left:
``theta_u = loc + span u`` with ``sum_i u_i = 0``, ``b_u = loc + span b'``, ``a_u = a' / span``
with ``sum log a'_j = 0`` over the benchmarks with at least :data:`CENTRED_MIN` scores (all, when
fewer than two have); the likelihood sees ``a' (u - b')`` only, ``loc`` and ``log span`` enter the
priors only (with the Jacobian ``span^(n - 1)`` of theta's map), and mix in a few steps.

Priors (on theta's standard-normal scale; benchmark parameters hierarchical):
``theta_u,i ~ N(0, 1)``; ``b_j ~ N(mu_b, sd_b)``, ``mu_b ~ N(0, 2)``, ``sd_b ~ HalfNormal(2)``;
``log a_j ~ N(mu_a, sd_a)``, ``mu_a ~ N(log 2, 1)``, ``sd_a ~ HalfNormal(1)``;
``log phi_j ~ N(mu_phi, sd_phi)``, ``mu_phi ~ N(log 50, 1)``, ``sd_phi ~ HalfNormal(1)``;
estimated floors ``c_j ~ c_max Beta(1, 4)`` with ``c_max = 0.5``; ceilings ``d_j = c_j + (1 - c_j)
e_j``, ``e_j ~ Beta(20, 1)``. ``b`` and ``log a`` are centred (sampled directly) on benchmarks with
at least :data:`CENTRED_MIN` scores, whose data pin them more than the population does, and
non-centred (``b'_j = mu + sd z_j``) on the rest (Papaspiliopoulos, Roberts & Skold 2007;
Betancourt & Girolami 2015); ``log phi`` is non-centred everywhere (a precision is weakly fixed by
a benchmark's scores, and its centred form funnelled at small ``sd_phi``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from scaling.models.likelihoods import beta_class

__all__ = ["ECI_ANCHORS", "IndexData", "IndexSpec", "anchor_draws", "capability_model", "prepare", "score_mean"]

#: ECI's website scale (Epoch AI, 2025-11-07 export): two reference models and their ECI values.
ECI_ANCHORS: tuple[tuple[str, float], tuple[str, float]] = (
    ("claude-3-5-sonnet-20240620", 130.0),
    ("gpt-5-2025-08-07_medium", 150.0),
)
LIKELIHOODS = ("beta", "binomial")
C_MAX = 0.5
#: Benchmarks with at least this many scores the fit learns from get centred priors.
CENTRED_MIN = 10
#: (mean and sd of the population mean's normal prior, scale of its spread's half-normal prior)
#: per hierarchical benchmark parameter.
HIER = {"b": (0.0, 2.0, 2.0), "log_a": (float(np.log(2.0)), 1.0, 1.0), "log_phi": (float(np.log(50.0)), 1.0, 1.0)}


@dataclass(frozen=True)
class IndexSpec:
    """Static structure of a capability-index fit (hashable: one compile per structure).

    ``anchor_idx`` are the model positions of the two anchors (None: standard-normal theta);
    ``scale`` = (v1, v2 - v1): the anchors' values, ``v1`` and ``v1 + scale[1]``.
    """

    n_models: int
    n_benchmarks: int
    likelihood: str = "beta"
    ceiling: bool = False
    anchor_idx: tuple[int, int] | None = None
    scale: tuple[float, float] = (0.0, 1.0)


@dataclass(frozen=True)
class IndexData:
    """Arrays of one fit: observation -> (model, benchmark) index, score, and its extras.

    ``floor`` per benchmark (NaN where estimated); ``stderr`` per observation (0 where not
    reported); ``n_items`` per observation (for the binomial); ``mask`` 1 for observations the fit
    learns from, 0 for held-out ones (their slots keep one compiled structure across refits);
    ``centred`` per benchmark, 1 where its priors are centred (see the module docstring);
    ``scale_set`` per benchmark, 1 on the benchmarks whose log slopes sum to zero (the centred ones,
    all benchmarks when fewer than two are centred).
    """

    model_idx: np.ndarray
    bench_idx: np.ndarray
    y: np.ndarray
    stderr: np.ndarray
    n_items: np.ndarray
    floor: np.ndarray
    mask: np.ndarray
    centred: np.ndarray
    scale_set: np.ndarray

    def arrays(self) -> dict[str, jax.Array]:
        return {k: jnp.asarray(getattr(self, k)) for k in self.__dataclass_fields__}


def centred_benchmarks(bench_idx: np.ndarray, mask: np.ndarray, n_benchmarks: int) -> tuple[np.ndarray, np.ndarray]:
    """``(centred, scale_set)``: 1.0 for benchmarks with at least :data:`CENTRED_MIN` scores the fit
    learns from, else 0.0; and the same, or all ones where fewer than two benchmarks are centred."""
    seen = np.bincount(bench_idx[mask > 0], minlength=n_benchmarks)
    centred = (seen >= CENTRED_MIN).astype(np.float32)
    return centred, (centred if centred.sum() >= 2 else np.ones_like(centred))


def score_mean(theta: jax.Array, a: jax.Array, b: jax.Array, c: jax.Array, d: jax.Array | float = 1.0) -> jax.Array:
    """``c + (d - c) sigmoid(a (theta - b))``: the expected score (a fraction)."""
    return c + (d - c) * jax.nn.sigmoid(a * (theta - b))


def _hierarchical(name: str, centred: jax.Array, mu: jax.Array, sd: jax.Array) -> jax.Array:
    """``x_j ~ N(mu, sd)``: sampled as ``x_j`` where ``centred_j`` is 1, as ``(x_j - mu) / sd`` where it is 0."""
    on = centred > 0
    with numpyro.plate("benchmark", centred.shape[0]):
        raw = numpyro.sample(f"{name}_raw", dist.Normal(jnp.where(on, mu, 0.0), jnp.where(on, sd, 1.0)))
    return jnp.where(on, raw, mu + sd * raw)


def _free(name: str, shape: tuple[int, ...] = (), support: Any = dist.constraints.real) -> jax.Array:
    """A site with a flat base measure: its density comes from ``numpyro.factor`` terms."""
    return numpyro.sample(name, dist.ImproperUniform(support, (), shape))


#: Spread of the auxiliary coordinate of :func:`_slopes` (any value gives the same model).
SLOPE_AUX_SD = 0.1


def _slopes(scale_set: jax.Array, mu: jax.Array, sd: jax.Array) -> jax.Array:
    """``log a'_j ~ N(mu, sd)`` with ``sum of log a'_j over the scale set = 0``; centred on the set,
    non-centred off it.

    Sampled as a free vector ``v``: on the set ``log a' = v - mean_set(v)``, off it ``log a' = mu + sd
    v``. ``t = mean_set(v)`` leaves the model unchanged; its own factor ``N(t; 0, SLOPE_AUX_SD)``
    keeps the posterior proper (the map ``v -> (log a', t)`` is linear, so the model's density is
    untouched).
    """
    on = scale_set > 0
    v = _free("log_a_raw", (scale_set.shape[0],))
    t = jnp.sum(jnp.where(on, v, 0.0)) / jnp.sum(scale_set)
    numpyro.factor("log_a_aux", dist.Normal(0.0, SLOPE_AUX_SD).log_prob(t))
    centred = v - t
    numpyro.factor("log_a_prior", jnp.sum(jnp.where(on, dist.Normal(mu, sd).log_prob(centred), 0.0)))
    numpyro.factor("log_a_raw_prior", jnp.sum(jnp.where(on, 0.0, dist.Normal(0.0, 1.0).log_prob(v))))
    return jnp.where(on, centred, mu + sd * v)


def capability_model(spec: IndexSpec, data: dict[str, jax.Array], predict: bool = False) -> None:
    """The numpyro model (see the module docstring); ``data`` from :meth:`IndexData.arrays`.

    Reported sites on theta's standard-normal scale: ``theta_u (model)``, ``b_u, a_u (benchmark)``
    and the hyperparameters ``b_mu, b_sd, log_a_mu``; ``c``, ``phi`` and ``d`` need no map.
    :func:`anchor_draws` gives ``theta, b, a`` in the user's units.
    """
    k, n = spec.n_benchmarks, spec.n_models
    zero_sum = dist.constraints.zero_sum(event_dim=1)
    # theta_u = loc + span u with sum(u) = 0; log a_u = log a' - log span with sum(log a') = 0: the
    # likelihood, a' (u - b'), then has no invariance left, and (loc, log span) enter priors only
    loc, log_span = _free("theta_loc"), _free("theta_log_span")
    span = jnp.exp(log_span)
    u = _free("u", (n,), zero_sum)
    # theta_u ~ iid N(0, 1): the Jacobian of theta -> (loc, span, u; log span, log a') is span^(n - 1)
    numpyro.factor("theta_prior", dist.Normal(0.0, 1.0).log_prob(loc + span * u).sum() + (n - 1) * log_span)
    b_loc, b_loc_sd, b_sd_scale = HIER["b"]
    mu_b, sd_b = _free("b_mu_rel"), _free("b_sd_rel", support=dist.constraints.positive)
    numpyro.factor("b_mu_prior", dist.Normal(b_loc, b_loc_sd).log_prob(loc + span * mu_b) + log_span)
    numpyro.factor("b_sd_prior", dist.HalfNormal(b_sd_scale).log_prob(span * sd_b) + log_span)
    b = _hierarchical("b", data["centred"], mu_b, sd_b)  # b' ~ N(mu_b', sd_b'): its Jacobian cancels
    a_loc, a_loc_sd, a_sd_scale = HIER["log_a"]
    mu_a, sd_a = _free("log_a_mu_rel"), numpyro.sample("log_a_sd", dist.HalfNormal(a_sd_scale))
    numpyro.factor("log_a_mu_prior", dist.Normal(a_loc, a_loc_sd).log_prob(mu_a - log_span))
    a = jnp.exp(_slopes(data["scale_set"], mu_a, sd_a))
    numpyro.deterministic("theta_u", loc + span * u)
    numpyro.deterministic("b_u", loc + span * b)
    numpyro.deterministic("a_u", a / span)
    numpyro.deterministic("b_mu", loc + span * mu_b)
    numpyro.deterministic("b_sd", span * sd_b)
    numpyro.deterministic("log_a_mu", mu_a - log_span)
    with numpyro.plate("benchmark", k):
        c_raw = numpyro.sample("c_raw", dist.Beta(1.0, 4.0))
        e = numpyro.sample("ceiling_raw", dist.Beta(20.0, 1.0)) if spec.ceiling else 1.0
    floor = data["floor"]
    c = numpyro.deterministic("c", jnp.where(jnp.isnan(floor), C_MAX * c_raw, jnp.nan_to_num(floor)))
    d = c + (1.0 - c) * e
    if spec.ceiling:
        numpyro.deterministic("d", d)
    i, j = data["model_idx"], data["bench_idx"]
    mu = jnp.clip(score_mean(u[i], a[j], b[j], c[j], d[j] if spec.ceiling else 1.0), 1e-6, 1 - 1e-6)
    obs = None if predict else data["y"]
    if spec.likelihood == "beta":
        phi_loc, phi_loc_sd, phi_sd_scale = HIER["log_phi"]
        mu_phi = numpyro.sample("log_phi_mu", dist.Normal(phi_loc, phi_loc_sd))
        sd_phi = numpyro.sample("log_phi_sd", dist.HalfNormal(phi_sd_scale))
        phi = numpyro.deterministic("phi", jnp.exp(_hierarchical("log_phi", jnp.zeros(k), mu_phi, sd_phi)))[j]
    with numpyro.plate("point", i.shape[0]), numpyro.handlers.mask(mask=data["mask"] > 0):
        if spec.likelihood == "binomial":
            n = data["n_items"]
            numpyro.sample("y", dist.Binomial(n, probs=mu), obs=None if predict else jnp.round(obs * n))
            return
        var = mu * (1 - mu) / (1 + phi) + data["stderr"] ** 2
        phi_eff = jnp.clip(mu * (1 - mu) / var - 1.0, 1e-3, 1e6)
        numpyro.sample("y", beta_class()(mu * phi_eff, (1 - mu) * phi_eff), obs=obs)


def anchor_draws(
    theta_u: np.ndarray, b_u: np.ndarray, a_u: np.ndarray, spec: IndexSpec
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per draw (leading axes), the anchored ``theta, b, a`` (float64; see the module docstring).

    ``k = (v2 - v1) / (theta_u[m2] - theta_u[m1])``; ``theta = v1 + k (theta_u - theta_u[m1])``,
    ``b = v1 + k (b_u - theta_u[m1])``, ``a = a_u / k``. The anchors come out at exactly ``v1`` and
    ``v2``. Without anchors the draws are returned as they are.
    """
    theta_u, b_u, a_u = (np.asarray(x, np.float64) for x in (theta_u, b_u, a_u))
    if spec.anchor_idx is None:
        return theta_u, b_u, a_u
    i, j = spec.anchor_idx
    v1, span = spec.scale
    t1, t2 = theta_u[..., i : i + 1], theta_u[..., j : j + 1]
    k = span / (t2 - t1)
    theta = v1 + span * ((theta_u - t1) / (t2 - t1))
    theta[..., i], theta[..., j] = v1, v1 + span
    return theta, v1 + k * (b_u - t1), a_u / k


def _alternating_logits(logit: np.ndarray, mi: np.ndarray, bi: np.ndarray, n_m: int, n_b: int, slope: float):
    """Least squares of ``logit_ij ~ slope (theta_i - b_j)`` by alternating means (20 sweeps)."""
    theta, b = np.zeros(n_m), np.zeros(n_b)
    cm, cb = np.maximum(np.bincount(mi, minlength=n_m), 1), np.maximum(np.bincount(bi, minlength=n_b), 1)
    for _ in range(20):
        theta = np.bincount(mi, b[bi] + logit / slope, minlength=n_m) / cm
        b = np.bincount(bi, theta[mi] - logit / slope, minlength=n_b) / cb
    return theta, b


def prepare(spec: IndexSpec, data: IndexData) -> dict[str, Any]:
    """Starting values of every sample site.

    theta and b from a least-squares fit of the floor-corrected logit scores, ``logit((y - c) / (1 -
    c)) ~ 2 (theta_i - b_j)`` by alternating means, standardised to theta's N(0, 1) prior; slopes 2
    on that scale, precisions 50, estimated floors 0.1.
    """
    n, k = spec.n_models, spec.n_benchmarks
    if n < 2:
        raise ValueError(f"a capability index needs at least 2 models; got {n}.")
    keep = data.mask > 0
    mi, bi = data.model_idx[keep], data.bench_idx[keep]
    c = np.nan_to_num(data.floor, nan=0.1)[bi]
    p = np.clip((data.y[keep] - c) / (1 - c), 0.03, 0.97)
    theta, b = _alternating_logits(np.log(p / (1 - p)), mi, bi, n, k, 2.0)
    loc, sd = theta.mean(), theta.std() + 1e-9
    theta, b = (theta - loc) / sd, (b - loc) / sd
    span = 1.0 / (2.0 * sd)  # slopes a_u = 2 sd on the standardised scale; log a' = log a_u + log span = 0
    on = data.centred > 0
    out: dict[str, Any] = {"theta_loc": 0.0, "theta_log_span": np.log(span), "u": theta / span}
    b_rel = b / span
    out["b_mu_rel"], out["b_sd_rel"] = b_rel.mean(), b_rel.std() + 0.1
    out["b_raw"] = np.where(on, b_rel, (b_rel - out["b_mu_rel"]) / out["b_sd_rel"])
    out["log_a_mu_rel"], out["log_a_sd"], out["log_a_raw"] = 0.0, 0.5, np.zeros(k)
    if spec.likelihood == "beta":
        out["log_phi_mu"], out["log_phi_sd"] = np.log(50.0), 0.5
        out["log_phi_raw"] = np.zeros(k)  # non-centred everywhere
    out["c_raw"] = np.full(k, 0.2)
    if spec.ceiling:
        out["ceiling_raw"] = np.full(k, 0.95)
    return {k: jnp.asarray(v, dtype=jnp.float32) for k, v in out.items()}
