"""Verdict figures: the PSIS-LOO law comparison (:func:`plot_comparison`) and the returns along
compute, marginal return or elasticity with 50/80/95% bands (:func:`plot_elasticity`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.deprecation import renamed
from scaling.errors import ScalingError
from scaling.plots.base import PALETTE, _bands, _label, _log_axis, _new_axes, _one_problem, json_col

if TYPE_CHECKING:
    import xarray as xr


def plot_comparison(comp: Any, *, size: str = "single"):
    """PSIS-LOO comparison of laws (the result of :func:`scaling.compare`), best at the top.

    For each law: its elpd (expected log pointwise predictive density,
    ``sum_i log p(y_i | y_-i)`` by PSIS-LOO) with +/- one standard error (circle), and,
    below it for every law but the best, the same point with the standard error of the
    *difference* to the best (triangle; the difference is what decides). The dashed line
    is the best elpd. Each row is annotated with ``elpd_diff +/- dse`` and the stacking
    weight ``w`` (Yao et al. 2018).

    A comparison whose status is ``"fail"`` (a fit failed the diagnostics gate: unreliable) carries no
    numbers, and this raises :class:`ValueError` with its reasons instead of drawing.

    Returns
    -------
    matplotlib.figure.Figure; one circle marker per law.
    """
    t = getattr(comp, "table", None)
    if t is None:
        reasons = "; ".join(getattr(comp, "reasons", [])) or "no table"
        raise ScalingError(f"plot_comparison: the comparison is unreliable and has no numbers to plot ({reasons}).")
    fig, ax = _new_axes(size)
    n = len(t)
    y = np.arange(n)[::-1].astype(float)
    elpd, se = t["elpd"].to_numpy(float), t["se"].to_numpy(float)
    diff = t["elpd_diff"].to_numpy(float) if "elpd_diff" in t else elpd - elpd.max()
    dse = t["dse"].to_numpy(float) if "dse" in t else np.zeros(n)
    weight = t["weight"].to_numpy(float) if "weight" in t else np.full(n, np.nan)
    best = float(elpd[np.argmax(elpd)])
    ax.axvline(best, color="0.5", ls="--", lw=0.8)
    ax.errorbar(elpd, y, xerr=se, fmt="o", ms=5, color=PALETTE[0], capsize=2, lw=1, label="elpd ± SE")
    others = diff != 0
    if others.any():
        ax.errorbar(
            (best + diff)[others],
            y[others] - 0.22,
            xerr=dse[others],
            fmt="^",
            ms=4,
            color=PALETTE[1],
            capsize=2,
            lw=1,
            label="difference to best ± SE",
        )
    trans = ax.get_yaxis_transform()  # x in axes fraction, y in data
    for yi, d, s, w in zip(y, diff, dse, weight, strict=True):
        note = "best" if d == 0 else f"Δ = {d:.1f} ± {s:.1f}"
        ax.text(0.02, yi + 0.28, f"{note}; w = {w:.2f}", transform=trans, fontsize=6, va="bottom", color="0.2")
    ax.set_yticks(y, [str(i) for i in t.index], fontsize=7)
    ax.set_ylim(-0.6, n - 0.1)
    ax.set_xlabel("elpd (PSIS-LOO; higher is better)")
    ax.tick_params(axis="x", labelsize=7)
    warn = "\nwarning: Pareto k > 0.7 at some points" if getattr(comp, "status", "pass") == "warn" else ""
    ax.set_title(f"PSIS-LOO comparison, stacking weights w{warn}", fontsize=8)
    fig.legend(fontsize=6, frameon=False, loc="outside lower center", ncol=2)
    return fig


def _returns_label(quantity: str, is_year: bool, ycol: str) -> str:
    per = "dt (per year)" if is_year else "d log10 C (per decade)"
    ln_x = "dt (per year)" if is_year else "d ln C"
    return {
        "elasticity": f"elasticity\nd ln {ycol} / d ln C",
        "elasticity_reducible": f"reducible elasticity\nd ln({ycol} - E) / {ln_x}",
        "growth_rate": f"growth rate (per year)\nd ln {ycol} / dt",
        "marginal_return": f"marginal return\nd {ycol} / {per}",
        "mu": ycol,
    }.get(quantity, quantity)


@renamed(n_grid="num_grid")
def plot_elasticity(
    fit: xr.DataTree,
    grid: Any = None,
    *,
    quantity: str = "auto",
    probs: tuple[float, ...] = (0.5, 0.8, 0.95),
    rope: float | None = 0.1,
    extend: float = 0.0,
    num_grid: int = 50,
    size: str = "single",
    ax: Any = None,
    title: str | None = None,
):
    """Returns to compute along the compute axis: posterior median and 50/80/95% bands.

    The draws come from :func:`scaling.analysis.diminishing.marginal_returns` (``jax.grad`` of the
    law, draw by draw); see :mod:`scaling.analysis.diminishing` for the definitions. ``quantity``:

    * ``"elasticity"``: ``d ln mu / d ln C``, the local log-log slope (local exponent);
    * ``"marginal_return"``: ``d mu / d log10 C``, the change per decade of compute;
    * ``"growth_rate"``: ``d ln mu / dt`` per year (date inputs);
    * ``"elasticity_reducible"``: ``d ln(mu - E) / d ln C`` (laws with an irreducible term);
    * ``"auto"`` (default): the quantity the diminishing-returns verdict reads
      (marginal return for bounded scores, growth rate for dates, else elasticity).

    The x axis is log compute (FLOP; ``C = 6 N D`` along the compute-optimal frontier for
    ``chinchilla``) or the year. Ticks along the bottom mark the observed inputs; the
    region past the data (``extend`` decades or years beyond the highest) is shaded. The
    solid line is zero (no returns); the band around the median at the low end of the data
    is the verdict's region of practical equivalence, ``(1 +/- rope)`` times that value:
    returns that leave it across the range have changed by more than ``rope``
    (``rope=None`` leaves it out).

    A fit that already has a ``derived`` group (from :func:`scaling.returns`) is plotted
    as it is when ``grid`` and ``extend`` are not given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from scaling.analysis.diminishing import _observed_coordinate, marginal_returns
    from scaling.analysis.prediction import model_from_fit
    from scaling.analysis.tables import sample_dims

    law = model_from_fit(fit).law
    _one_problem(fit, "plot_elasticity")
    is_year = len(law.inputs) == 1 and law.inputs[0].transform == "year"
    t_obs = _observed_coordinate(fit, law)
    t_lo, t_hi = float(np.min(t_obs)), float(np.max(t_obs))
    have = "derived" in fit.children and "marginal_return" in fit["derived"].data_vars
    if have and grid is None and extend == 0:
        dt = fit
    else:
        if grid is None:
            t = np.linspace(t_lo, t_hi + float(extend), num_grid)
            grid = t if is_year else 10.0**t
        dt = marginal_returns(fit, grid)
    der = dt["derived"]
    if quantity == "auto":
        quantity = "marginal_return" if law.bounded else ("growth_rate" if "growth_rate" in der else "elasticity")
    if quantity not in der.data_vars:
        raise ScalingError(
            f"The 'quantity' parameter of plot_elasticity must be 'auto' or one of {sorted(der.data_vars)} "
            f"for law {law.name!r}. Got {quantity!r} instead."
        )
    x = der["x"].values
    draws = der[quantity].stack(s=sample_dims(dt)).transpose("s", "grid").values
    own = ax is None
    fig, ax = (ax.figure, ax) if ax is not None else _new_axes(size)
    bands = _bands(draws, probs)
    names = "/".join(f"{100 * p:g}" for p, _, _ in bands[::-1])
    for i, (_, a, b) in enumerate(bands):
        label = f"median, {names}% intervals" if i == len(bands) - 1 else None
        ax.fill_between(x, a, b, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=label)
    ax.plot(x, np.nanmedian(draws, axis=0), color=PALETTE[0], lw=1.5)
    ax.axhline(0, color="0.2", lw=0.8)
    if rope is not None:
        i0 = int(np.argmin(np.abs((x if is_year else np.log10(x)) - t_lo)))
        m0 = float(np.nanmedian(draws[:, i0]))
        ax.axhspan(*sorted([m0 * (1 - rope), m0 * (1 + rope)]), color=PALETTE[2], alpha=0.15, lw=0)
        ax.axhline(m0, color=PALETTE[2], ls=":", lw=1, label=f"low-end median ± {rope:.0%} (ROPE)")
    x_obs = t_obs if is_year else 10.0**t_obs
    ax.plot(
        x_obs, np.full(len(x_obs), 0.03), "|", ms=6, color=PALETTE[3], transform=ax.get_xaxis_transform(), label="data"
    )
    edge = t_hi if is_year else 10.0**t_hi
    if x.max() > edge * (1 + 1e-9):
        ax.axvspan(edge, x.max(), color="0.5", alpha=0.12, lw=0, label="extrapolation")
    if not is_year:
        _log_axis(ax, "x")
    chin = law.name == "chinchilla"
    ax.set_xlabel("compute C = 6 N D (FLOP)" if chin else _label(fit, 0, law.inputs[0].doc), fontsize=9)
    ax.set_ylabel(_returns_label(quantity, is_year, json_col(fit, "y") or "mu"), fontsize=8)
    ax.set_title(title or (f"{law.name}, compute-optimal frontier" if chin else law.name), fontsize=9)
    if own:
        fig.legend(fontsize=6, frameon=False, loc="outside lower center", ncol=2)
    else:
        ax.legend(fontsize=6, frameon=False)
    return fig
