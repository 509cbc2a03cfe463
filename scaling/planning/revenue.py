"""The revenue mapping, draw by draw: ``ln R = ln R0 + b ln(cap / cap0)`` fitted to a revenue history
against frontier capability at the same dates (:func:`fit_revenue_mapping`; each doubling of
capability multiplies revenue by ``2^b``), revenue draws for capability draws
(:func:`revenue_from_capability`), a user-set scenario mapping (:func:`scenario_revenue`) and the
naive extrapolation of the revenue series alone (:func:`naive_revenue`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.errors import ScalingError
from scaling.planning.compute import _check_positive

if TYPE_CHECKING:
    from scaling.infer.sampler import Sampler


# ----------------------------------------------------------------------------- revenue
def _sampler(sampler: Any, settings: dict[str, Any], where: str) -> Any:
    """The revenue fits' sampler: ``target_accept=0.95`` unless given (a handful of points leaves sigma's
    posterior reaching towards 0: take smaller steps there); loose keywords are the deprecated way."""
    from scaling.deprecation import warn_renamed
    from scaling.infer.sampler import Sampler, from_fit_kwargs

    if settings:
        warn_renamed(f"**{{{', '.join(settings)}}}", "sampler", where, what="keyword(s)", stacklevel=4)
        loose, seed = from_fit_kwargs(settings, where)
        if seed is not None:
            raise ScalingError(f"{where}: pass seed= itself, not among the sampler settings.")
        sampler = {**(sampler.to_dict() if isinstance(sampler, Sampler) else dict(sampler or {})), **loose}
    if isinstance(sampler, Sampler):
        return sampler
    return {"target_accept": 0.95, **(sampler or {})}


def fit_revenue_mapping(
    revenue: pd.DataFrame,
    capability_fit: xr.DataTree,
    *,
    company: str | None = None,
    kind: str = "run-rate",
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: int = 0,
    **settings: Any,
) -> xr.DataTree:
    """Fit ``ln R = ln R0 + b ln cap`` to a revenue history against frontier capability at the same dates.

    Capability at each revenue date is the posterior median of ``capability_fit``'s
    trend (a date law such as :func:`~scaling.models.trend_laws.exponential_trend`). The result is a
    ``power_law`` fit of revenue against capability; ``b = -alpha`` (revenue
    multiplies by ``2^b`` per doubling of capability), stored as ``revenue_elasticity``.
    ``sampler``: the NUTS settings (a :class:`~scaling.infer.sampler.Sampler`, used as it is, or a
    mapping of some of its settings); with a mapping or None, ``target_accept`` is 0.95 unless it says
    otherwise (few points). Sampler settings given as keywords (``num_samples=...``) are deprecated:
    pass them in ``sampler``.
    """
    from scaling.analysis.prediction import predict
    from scaling.infer.bayes import fit

    df = revenue.copy()
    if company is not None:
        df = df[df["company"] == company]
    if kind is not None and "kind" in df.columns:
        df = df[df["kind"] == kind]
    if len(df) < 4:
        raise ScalingError(
            f"fit_revenue_mapping needs at least 4 revenue reports; got {len(df)} (company={company!r}, kind={kind!r})."
        )
    cap = predict(capability_fit, list(df["date"])).median(("chain", "draw")).values
    data = pd.DataFrame({"capability": cap, "revenue_usd": df["revenue_usd"].to_numpy(dtype=float)})
    # a handful of points leaves sigma's posterior reaching towards 0: take smaller steps there
    run = _sampler(sampler, settings, "fit_revenue_mapping")
    mapping = fit(data, "power_law", x="capability", y="revenue_usd", sampler=run, seed=seed)
    mapping["posterior"]["revenue_elasticity"] = -mapping["posterior"]["alpha"]
    return mapping


def revenue_from_capability(
    mapping: xr.DataTree, capability_draws: np.ndarray, *, seed: int = 0, noise: bool = True
) -> np.ndarray:
    """Revenue draws (sample, year) for capability draws (sample, year), draw by draw.

    Each capability trajectory is paired with a random draw of the mapping; with
    ``noise`` the mapping's residual scatter (lognormal ``sigma``) is added.
    """
    from scaling.analysis.forecasting import compose

    rev = compose(mapping, capability_draws, kind="mean", seed=seed)  # scatter added below
    if noise:
        sigma = mapping["posterior"]["sigma"].values.reshape(-1)
        rng = np.random.default_rng(seed + 1)
        s = sigma[rng.integers(0, sigma.size, size=rev.shape[0])][:, None]
        rev = rev * np.exp(s * rng.normal(size=rev.shape))
    return rev


def scenario_revenue(
    capability_draws: np.ndarray,
    *,
    revenue_at: float,
    capability_at: float,
    factor_per_doubling: float,
    factor_sd: float = 0.0,
    sigma: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """Revenue draws from a user-set mapping instead of a fitted one.

    ``R = revenue_at * (cap / capability_at)^b`` with ``b = log2(factor)``, where
    ``log2(factor)`` is drawn from ``Normal(log2(factor_per_doubling), factor_sd)`` per
    draw and a lognormal scatter ``sigma`` (nats) is added: "each doubling of
    capability multiplies revenue by about ``factor_per_doubling``".
    """
    where = "scenario_revenue"
    _check_positive("revenue_at", revenue_at, where)
    _check_positive("capability_at", capability_at, where)
    _check_positive("factor_per_doubling", factor_per_doubling, where)
    _check_positive("factor_sd", factor_sd, where, allow_zero=True)
    _check_positive("sigma", sigma, where, allow_zero=True)
    cap = np.asarray(capability_draws, dtype=float)
    rng = np.random.default_rng(seed)
    b = rng.normal(np.log2(factor_per_doubling), factor_sd, size=(cap.shape[0],) + (1,) * (cap.ndim - 1))
    return revenue_at * (cap / capability_at) ** b * np.exp(sigma * rng.normal(size=cap.shape))


def naive_revenue(
    revenue: pd.DataFrame,
    years: np.ndarray,
    *,
    company: str | None = None,
    kind: str = "run-rate",
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: int = 0,
    **settings: Any,
) -> tuple[np.ndarray, xr.DataTree]:
    """The revenue series extrapolated on its own (``exponential_trend``): draws (sample, year) and the fit.

    ``sampler``, ``seed``: as in :func:`fit_revenue_mapping` (``target_accept`` 0.95 unless set)."""
    from scaling.analysis.forecasting import trend_draws
    from scaling.infer.bayes import fit

    df = revenue.copy()
    if company is not None:
        df = df[df["company"] == company]
    if kind is not None and "kind" in df.columns:
        df = df[df["kind"] == kind]
    f = fit(
        df,
        "exponential_trend",
        x="date",
        y="revenue_usd",
        sampler=_sampler(sampler, settings, "naive_revenue"),
        seed=seed,
    )
    return trend_draws(f, years), f
