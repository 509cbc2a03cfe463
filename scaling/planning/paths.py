"""Revenue paths: each posterior draw of the cone kept as a whole path over years.

The cone of :func:`~scaling.planning.revenue_from_capability` adds the revenue mapping's
residual scatter independently in every year, which is right for one year's percentile
and wrong for anything computed along a path (the worst year, the cumulative cash): a
bad 2027 usually means a bad 2028 too. Here the scatter is a process over time.

Path ``i`` (one capability trajectory paired with one draw of the mapping, whose
median revenue is ``mu_i(t)`` in dollars a year and residual scatter ``sigma_i`` in
nats) at years ``t_0 < t_1 < ...`` (decimal years, ``dt_k = t_k - t_{k-1}``)::

    ln R_i(t_k) = ln mu_i(t_k) + sigma_i a_i(t_k) + w_i(t_k)
    a_i(t_0) ~ N(0, 1),  a_i(t_k) = rho^dt_k a_i(t_{k-1}) + sqrt(1 - rho^(2 dt_k)) z_ik
    w_i(t_0) = 0,        w_i(t_k) = w_i(t_{k-1}) + tau sqrt(dt_k) z'_ik

with ``z, z'`` independent standard normals.

* ``a`` is a stationary Gaussian AR(1) (Ornstein-Uhlenbeck at irregular spacing) of unit
  variance: every year's marginal scatter is the mapping's ``sigma``, as in the cone, and
  two years ``dt`` apart are correlated ``rho^dt``. ``correlation = rho`` per year
  (default 0.9): ``rho = 0`` is the independent scatter of the cone, ``rho = 1`` one
  offset for the whole path.
* ``w`` is a random walk in log revenue, ``walk_sd = tau`` nats per square-root year
  (default 0): shocks that persist for good, widening the cone as ``sqrt(sigma^2 + tau^2 (t - t_0))``.

Both parameters are set (they are not identified by a handful of revenue reports);
:func:`revenue_paths` pairs each path's ``mu`` and ``sigma`` with the same draw of the mapping.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scaling.deprecation import renamed
from scaling.errors import ScalingError


def _check_path_params(correlation: float, walk_sd: float, where: str) -> tuple[float, float]:
    rho, tau = float(correlation), float(walk_sd)
    if not 0.0 <= rho <= 1.0:
        raise ScalingError(
            f"The 'correlation' parameter of {where} (year-to-year correlation of the revenue scatter) "
            f"must be in [0, 1]. Got {correlation!r}; use 0 for independent years, 1 for one offset per path."
        )
    if not np.isfinite(tau) or tau < 0:
        raise ScalingError(
            f"The 'walk_sd' parameter of {where} (random-walk step of log revenue, nats per sqrt-year) "
            f"must be >= 0. Got {walk_sd!r}; use 0 for no random walk."
        )
    return rho, tau


def _check_years(years: Any, n: int, where: str) -> np.ndarray:
    t = np.asarray(years, dtype=float).reshape(-1)
    if t.size != n:
        raise ScalingError(f"{where}: 'years' has {t.size} values but the draws have {n} years (columns).")
    if t.size > 1 and not np.all(np.diff(t) > 0):
        raise ScalingError(f"{where}: 'years' must be strictly increasing decimal years. Got {t.tolist()}.")
    return t


@renamed(n_paths="num_paths")
def path_scatter(
    num_paths: int, years: Any, *, correlation: float = 0.9, walk_sd: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit-variance AR(1) scatter ``a`` and random walk ``w`` (both (path, year), nats before ``sigma``)."""
    where = "path_scatter"
    rho, tau = _check_path_params(correlation, walk_sd, where)
    if int(num_paths) < 1:
        raise ScalingError(f"The 'num_paths' parameter of {where} must be >= 1. Got {num_paths!r}.")
    t = np.asarray(years, dtype=float).reshape(-1)
    t = _check_years(t, t.size, where)
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(int(num_paths), t.size))
    zw = rng.normal(size=(int(num_paths), t.size))
    dt = np.diff(t)
    phi = rho**dt
    a = np.empty_like(z)
    a[:, 0] = z[:, 0]
    for k in range(1, t.size):
        a[:, k] = phi[k - 1] * a[:, k - 1] + np.sqrt(1.0 - phi[k - 1] ** 2) * z[:, k]
    w = np.zeros_like(z)
    if t.size > 1:
        w[:, 1:] = np.cumsum(tau * np.sqrt(dt)[None, :] * zw[:, 1:], axis=1)
    return a, w


def correlated_paths(
    median_revenue: Any,
    sigma: Any,
    years: Any,
    *,
    correlation: float = 0.9,
    walk_sd: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Revenue paths (path, year) in dollars a year: ``mu_i(t) exp(sigma_i a_i(t) + w_i(t))`` (module doc).

    ``median_revenue``: (path, year) medians ``mu`` (dollars a year, > 0); ``sigma``: each
    path's scatter in nats, a scalar or one value per path.
    """
    where = "correlated_paths"
    _check_path_params(correlation, walk_sd, where)
    mu = np.asarray(median_revenue, dtype=float)
    if mu.ndim != 2 or mu.size == 0:
        raise ScalingError(f"{where}: 'median_revenue' must be a (path, year) array. Got shape {mu.shape}.")
    if not np.all(np.isfinite(mu)) or np.any(mu <= 0):
        raise ScalingError(f"{where}: 'median_revenue' must be finite and > 0 (dollars a year).")
    sd = np.broadcast_to(
        np.asarray(sigma, dtype=float).reshape(-1, 1) if np.ndim(sigma) else float(sigma), mu[:, :1].shape
    )
    if not np.all(np.isfinite(sd)) or np.any(sd < 0):
        raise ScalingError(f"{where}: 'sigma' (scatter of log revenue, nats) must be finite and >= 0.")
    t = _check_years(years, mu.shape[1], where)
    a, w = path_scatter(mu.shape[0], t, correlation=correlation, walk_sd=walk_sd, seed=seed)
    return mu * np.exp(sd * a + w)


def revenue_paths(
    mapping: Any,
    capability_draws: Any,
    years: Any,
    *,
    correlation: float = 0.9,
    walk_sd: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Revenue paths (path, year) for capability draws (path, year) through a fitted revenue mapping.

    Path ``i`` takes capability trajectory ``i`` and one random draw of ``mapping`` (a
    :func:`~scaling.planning.fit_revenue_mapping` fit) for both its median revenue and its
    scatter ``sigma``; the scatter is correlated over years as the module doc states.
    """
    import jax
    import jax.numpy as jnp

    from scaling.analysis.prediction import model_from_fit

    cap = np.asarray(capability_draws, dtype=float)
    if cap.ndim != 2 or not np.all(np.isfinite(cap)) or np.any(cap <= 0):
        raise ScalingError("revenue_paths: 'capability_draws' must be a (path, year) array of finite values > 0.")
    _check_path_params(correlation, walk_sd, "revenue_paths")
    law = model_from_fit(mapping).law
    if len(law.inputs) != 1 or law.inputs[0].transform != "log10":
        raise ScalingError(f"revenue_paths needs a revenue mapping of one log10 input; {law.name!r} is not.")
    const = mapping["constant_data"]
    centre = float(const[f"center_{law.inputs[0].name}"])
    y_scale = float(const["y_scale"])
    post = mapping["posterior"].to_dataset()
    theta = {k: post[k].values.reshape(-1) for k in law.param_names}
    sigma = post["sigma"].values.reshape(-1)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, sigma.size, size=cap.shape[0])
    th = {k: jnp.asarray(v[pick]) for k, v in theta.items()}
    u = jnp.asarray(np.log10(cap) - centre)
    name = law.inputs[0].name
    mu = np.asarray(jax.vmap(lambda p, uu: law.mean({name: uu}, p, y_scale))(th, u), dtype=float)
    return correlated_paths(mu, sigma[pick], years, correlation=correlation, walk_sd=walk_sd, seed=seed + 1)
