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
``a -> a / s``). ``anchors = ((m1, v1), (m2, v2))`` fixes two reference models at ``v1`` and ``v2``
(ECI's website scale: claude-3-5-sonnet-20240620 = 130, gpt-5-2025-08-07_medium = 150, the
documented default of :func:`scaling.analysis.fit_index`); internally ``u = (theta - v1) / (v2 -
v1)`` so the anchors sit at 0 and 1. Without anchors, ``theta ~ Normal(0, 1)``.

Priors (on the internal ``u`` scale; hierarchical, non-centred for NUTS):
``u_i = mu_u + sd_u z_i``, ``mu_u ~ N(0, 1)``, ``sd_u ~ HalfNormal(1)`` (anchored; fixed at 0, 1
otherwise); ``b_j = mu_b + sd_b z_j``, ``mu_b ~ N(0, 2)``, ``sd_b ~ HalfNormal(2)``;
``log a_j = mu_a + sd_a z_j``, ``mu_a ~ N(log 3, 1)``, ``sd_a ~ HalfNormal(1)``;
estimated floors ``c_j ~ Beta(1, 4)`` times ``c_max = 0.5``; ceilings ``d_j = c_j + (1 - c_j) e_j``,
``e_j ~ Beta(20, 1)``; ``log phi_j = mu_phi + sd_phi z_j``, ``mu_phi ~ N(log 50, 1)``,
``sd_phi ~ HalfNormal(1)``. The posterior reports ``theta``, ``b``, ``a`` in the user's units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

__all__ = ["ECI_ANCHORS", "IndexData", "IndexSpec", "capability_model", "score_mean"]

#: ECI's website scale (Epoch AI, 2025-11-07 export): two reference models and their ECI values.
ECI_ANCHORS: tuple[tuple[str, float], tuple[str, float]] = (
    ("claude-3-5-sonnet-20240620", 130.0),
    ("gpt-5-2025-08-07_medium", 150.0),
)
LIKELIHOODS = ("beta", "binomial")
C_MAX = 0.5


@dataclass(frozen=True)
class IndexSpec:
    """Static structure of a capability-index fit (hashable: one compile per structure).

    ``anchor_idx`` are the model positions of the two anchors (None: standard-normal theta);
    ``scale`` = (v1, v2 - v1) maps the internal scale to the user's: ``theta = v1 + (v2 - v1) u``.
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
    learns from, 0 for held-out ones (their slots keep one compiled structure across refits).
    """

    model_idx: np.ndarray
    bench_idx: np.ndarray
    y: np.ndarray
    stderr: np.ndarray
    n_items: np.ndarray
    floor: np.ndarray
    mask: np.ndarray

    def arrays(self) -> dict[str, jax.Array]:
        return {k: jnp.asarray(getattr(self, k)) for k in self.__dataclass_fields__}


def score_mean(theta: jax.Array, a: jax.Array, b: jax.Array, c: jax.Array, d: jax.Array | float = 1.0) -> jax.Array:
    """``c + (d - c) sigmoid(a (theta - b))``: the expected score (a fraction)."""
    return c + (d - c) * jax.nn.sigmoid(a * (theta - b))


def _free_floor(floor: jax.Array, n: int) -> jax.Array:
    """Floors: the known ones, and ``c_max * Beta(1, 4)`` draws where ``floor`` is NaN."""
    with numpyro.plate("benchmark", n):
        c_raw = numpyro.sample("c_raw", dist.Beta(1.0, 4.0))
    return jnp.where(jnp.isnan(floor), C_MAX * c_raw, jnp.nan_to_num(floor))


def _theta(spec: IndexSpec) -> jax.Array:
    """Internal capabilities ``u``: anchored (two fixed at 0 and 1) or standard normal."""
    with numpyro.plate("model", spec.n_models):
        z = numpyro.sample("theta_z", dist.Normal(0.0, 1.0))
    if spec.anchor_idx is None:
        return z
    mu = numpyro.sample("theta_mu", dist.Normal(0.0, 1.0))
    sd = numpyro.sample("theta_sd", dist.HalfNormal(1.0))
    u = mu + sd * z
    i, j = spec.anchor_idx
    return u.at[i].set(0.0).at[j].set(1.0)


def capability_model(spec: IndexSpec, data: dict[str, jax.Array], predict: bool = False) -> None:
    """The numpyro model (see the module docstring); ``data`` from :meth:`IndexData.arrays`."""
    u = _theta(spec)
    k = spec.n_benchmarks
    mu_b = numpyro.sample("b_mu", dist.Normal(0.0, 2.0))
    sd_b = numpyro.sample("b_sd", dist.HalfNormal(2.0))
    mu_a = numpyro.sample("log_a_mu", dist.Normal(jnp.log(3.0), 1.0))
    sd_a = numpyro.sample("log_a_sd", dist.HalfNormal(1.0))
    with numpyro.plate("benchmark", k):
        b_z = numpyro.sample("b_z", dist.Normal(0.0, 1.0))
        a_z = numpyro.sample("log_a_z", dist.Normal(0.0, 1.0))
        e = numpyro.sample("ceiling_raw", dist.Beta(20.0, 1.0)) if spec.ceiling else 1.0
    b_u, a_u = mu_b + sd_b * b_z, jnp.exp(mu_a + sd_a * a_z)
    c = _free_floor(data["floor"], k)
    d = c + (1.0 - c) * e
    v1, span = spec.scale
    numpyro.deterministic("theta", v1 + span * u)
    numpyro.deterministic("b", v1 + span * b_u)
    numpyro.deterministic("a", a_u / span)
    numpyro.deterministic("c", c)
    if spec.ceiling:
        numpyro.deterministic("d", d)
    i, j = data["model_idx"], data["bench_idx"]
    mu = numpyro.deterministic("mu", score_mean(u[i], a_u[j], b_u[j], c[j], d[j] if spec.ceiling else 1.0))
    mu = jnp.clip(mu, 1e-6, 1 - 1e-6)
    obs = None if predict else data["y"]
    phi = _precision(k)[j] if spec.likelihood == "beta" else None
    with numpyro.plate("point", i.shape[0]), numpyro.handlers.mask(mask=data["mask"] > 0):
        if spec.likelihood == "binomial":
            n = data["n_items"]
            numpyro.sample("y", dist.Binomial(n, probs=mu), obs=None if predict else jnp.round(obs * n))
            return
        var = mu * (1 - mu) / (1 + phi) + data["stderr"] ** 2
        phi_eff = jnp.maximum(mu * (1 - mu) / var - 1.0, 1e-3)
        numpyro.sample("y", dist.Beta(mu * phi_eff, (1 - mu) * phi_eff), obs=obs)


def _precision(k: int) -> jax.Array:
    """Per-benchmark beta precision ``phi_j`` (hierarchical on the log scale)."""
    mu = numpyro.sample("log_phi_mu", dist.Normal(jnp.log(50.0), 1.0))
    sd = numpyro.sample("log_phi_sd", dist.HalfNormal(1.0))
    with numpyro.plate("benchmark", k):
        z = numpyro.sample("log_phi_z", dist.Normal(0.0, 1.0))
    return numpyro.deterministic("phi", jnp.exp(mu + sd * z))


def init_values(spec: IndexSpec, data: IndexData) -> dict[str, Any]:
    """Starting values: capabilities from each model's mean logit score (standardised), benchmarks neutral."""
    y = np.clip(data.y, 0.02, 0.98)
    logit = np.log(y / (1 - y))
    keep = data.mask > 0
    for j in np.unique(data.bench_idx):
        sel = data.bench_idx == j
        logit[sel] -= logit[sel & keep].mean() if (sel & keep).any() else 0.0
    z = np.zeros(spec.n_models)
    for i in range(spec.n_models):
        sel = (data.model_idx == i) & keep
        z[i] = logit[sel].mean() if sel.any() else 0.0
    z = (z - z.mean()) / (z.std() + 1e-9)
    return {"theta_z": jnp.asarray(z, dtype=jnp.float32)}
