"""Publication plots. Every function returns its figure and never calls ``plt.show()``."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .prediction import model_from_fit, predict

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SIZES = {"single": (3.5, 2.6), "double": (7.2, 4.0)}


def _bands(draws: np.ndarray, probs: tuple[float, ...]) -> list[tuple[float, np.ndarray, np.ndarray]]:
    return [(p, *np.nanquantile(draws, [(1 - p) / 2, (1 + p) / 2], axis=0)) for p in sorted(probs, reverse=True)]


def plot_fit(
    fit: xr.DataTree,
    *,
    probs: tuple[float, ...] = (0.5, 0.8, 0.95),
    extend: float = 0.0,
    n_grid: int = 200,
    size: str = "double",
    ax: Any = None,
    title: str | None = None,
):
    """Data with the posterior predictive bands (default 50/80/95%) and median curve.

    One-input laws: y against x on log axes (log10 inputs) or against the year;
    ``extend`` widens the grid by that many decades (or years) past the data, and
    the extrapolated region is shaded. Two-input laws (chinchilla): observed
    against predicted, with each point's predictive interval.

    Returns
    -------
    matplotlib.figure.Figure
    """
    law, lik = model_from_fit(fit)
    kind = "predictive" if lik is not None and not lik.counts else "mean"
    fig, ax = (ax.figure, ax) if ax is not None else _new_axes(size)
    y = fit["observed_data"]["y"].values
    dims = ["sample"] if "sample" in fit["posterior"].dims else ["chain", "draw"]
    if len(law.inputs) == 1:
        inp = law.inputs[0]
        xo = fit["constant_data"][inp.name].values
        t = np.log10(xo) if inp.transform == "log10" else xo
        lo, hi = t.min(), t.max()
        tg = np.linspace(lo - 0.02 * (hi - lo), hi + extend + 0.02 * (hi - lo), n_grid)
        xg = 10**tg if inp.transform == "log10" else tg
        draws = predict(fit, xg, kind=kind).stack(s=dims).transpose("s", "grid").values
        for i, (p, a, b) in enumerate(_bands(draws, probs)):
            ax.fill_between(xg, a, b, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=f"{p:.0%} predictive")
        med = np.nanmedian(predict(fit, xg, kind="mean").stack(s=dims).transpose("s", "grid").values, axis=0)
        ax.plot(xg, med, color=PALETTE[0], lw=1.5, label="median law")
        ax.scatter(xo, y, s=14, color=PALETTE[3], zorder=3, label="data", edgecolor="white", linewidth=0.4)
        if extend > 0:
            edge = 10**hi if inp.transform == "log10" else hi
            ax.axvspan(edge, xg[-1], color="0.5", alpha=0.12, lw=0, label="extrapolation")
        if inp.transform == "log10":
            ax.set_xscale("log")
        ax.set_xlabel(_label(fit, 0, inp.doc))
    else:
        pp = fit["posterior_predictive"]["y"] if "posterior_predictive" in fit.children else None
        if pp is None:
            raise ValueError("Observed-vs-predicted plots need a Bayesian fit with a posterior_predictive group.")
        draws = pp.stack(s=dims).transpose("s", ...).values
        med = np.nanmedian(draws, axis=0)
        lo, hi = np.nanquantile(draws, [0.025, 0.975], axis=0)
        ax.errorbar(
            med,
            y,
            xerr=[med - lo, hi - med],
            fmt="o",
            ms=3,
            color=PALETTE[3],
            ecolor="0.6",
            elinewidth=0.6,
            label="data (95% predictive)",
        )
        lim = [min(y.min(), lo.min()), max(y.max(), hi.max())]
        ax.plot(lim, lim, color=PALETTE[0], lw=1, label="y = prediction")
        ax.set_xlabel("predicted (posterior median)")
    if law.log_output:
        ax.set_yscale("log")
    ax.set_ylabel(json_col(fit, "y") or "y")
    ax.set_title(title or f"{law.name}: {law.formula}", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def _new_axes(size: str):
    """A figure and axes without pyplot (no global state, any backend)."""
    from matplotlib.figure import Figure

    if size not in SIZES:
        raise ValueError(f"The 'size' parameter must be one of {list(SIZES)}. Got {size!r} instead.")
    fig = Figure(figsize=SIZES[size], layout="constrained")
    return fig, fig.subplots()


def json_col(fit: xr.DataTree, key: str) -> str | None:
    import json

    return json.loads(fit.attrs["spec"]).get("columns", {}).get(key)


def _label(fit: xr.DataTree, i: int, doc: str) -> str:
    cols = json_col(fit, "x") or []
    return cols[i] if i < len(cols) else doc


def save_figure(fig, path, formats: tuple[str, ...] = ("png",), dpi: int = 200) -> list[str]:
    """Save ``fig`` as ``path`` with each suffix in ``formats`` (png, pdf, svg), atomically."""
    from pathlib import Path

    from .io import atomic_write

    out = []
    for fmt in formats:
        target = Path(path).with_suffix(f".{fmt}")
        atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))
        out.append(str(target))
    return out


def plot_fan(fc, *, size: str = "double", log_y: bool = True, probs: tuple[float, ...] = (0.5, 0.8, 0.95)):
    """Fan chart of a :class:`scaling.forecasting.Forecast`: data, stacked bands, each shape's median,
    the threshold and (lower panel) the distribution of the crossing date with P(not by horizon).
    """
    from matplotlib.figure import Figure

    rows = 2 if fc.crossing is not None else 1
    fig = Figure(figsize=(SIZES[size][0], SIZES[size][1] * (1.4 if rows == 2 else 1)), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, height_ratios=[3, 1][:rows], squeeze=False)[:, 0]
    ax = axes[0]
    first = next(iter(fc.fits.values()))
    ax.scatter(
        first["constant_data"]["t"].values,
        first["observed_data"]["y"].values,
        s=14,
        color=PALETTE[3],
        zorder=3,
        label="data",
        edgecolor="white",
        linewidth=0.4,
    )
    for i, (p, lo, hi) in enumerate(_bands(fc.stacked, probs)):
        ax.fill_between(fc.grid_years, lo, hi, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=f"{p:.0%} stacked")
    for k, (name, d) in enumerate(fc.draws.items()):
        ax.plot(
            fc.grid_years,
            np.median(d, axis=0),
            color=PALETTE[(k + 1) % len(PALETTE)],
            lw=1.2,
            label=f"{name} median (w={fc.weights[name]:.2f})",
        )
    if fc.crossing is not None:
        ax.axhline(fc.crossing.threshold, color="0.3", ls="--", lw=0.8, label="threshold")
    if log_y:
        ax.set_yscale("log")
    ax.set_ylabel(json_col(first, "y") or "y")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    ax.set_title("forecast by trend shape, stacked by PSIS-LOO weights", fontsize=9)
    if fc.crossing is not None:
        c = fc.crossing
        hit = c.dates[np.isfinite(c.dates)]
        axes[1].hist(hit, bins=40, color=PALETTE[0], alpha=0.7)
        axes[1].set_ylabel("draws")
        axes[1].set_xlabel("year the trend reaches the threshold")
        axes[1].text(
            0.99,
            0.9,
            f"P(not by {c.horizon:.0f}) = {c.p_never:.2f}",
            transform=axes[1].transAxes,
            ha="right",
            va="top",
            fontsize=7,
        )
    else:
        ax.set_xlabel("year")
    return fig


def plot_cone(result, *, size: str = "double"):
    """Revenue cone (10/50/90% and 25/75%) from capability draws beside the naive extrapolation."""
    fig, ax = _new_axes(size)
    der = result.tree["derived"]
    years = der["year"].values
    for name, colour, label in (
        ("revenue", PALETTE[0], "via capability"),
        ("naive_revenue", PALETTE[1], "naive trend"),
    ):
        d = der[name].values
        lo, med, hi = np.percentile(d, [10, 50, 90], axis=0)
        ax.fill_between(years, lo, hi, color=colour, alpha=0.25, lw=0, label=f"{label}: 10-90%")
        ax.plot(years, med, color=colour, lw=1.5, label=f"{label}: median")
    ax.set_yscale("log")
    ax.set_xlabel("year")
    ax.set_ylabel("revenue (USD per year)")
    ax.set_title("cone of uncertainty of revenue", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def plot_can_pay(p, *, size: str = "single"):
    """P(can pay) against the compute commitment, with the affordable and newsvendor commitments marked."""
    fig, ax = _new_axes(size)
    ax.plot(p.curve["commitment"] / 1e9, 1 - p.curve["p_cannot_pay"], color=PALETTE[0], lw=1.5)
    ax.axvline(p.affordable_commitment / 1e9, color=PALETTE[3], ls="--", lw=1, label=f"affordable at p{p.percentile:g}")
    ax.axvline(p.newsvendor_commitment / 1e9, color=PALETTE[2], ls=":", lw=1, label="newsvendor optimum")
    ax.set_xlabel("compute commitment ($B capex)")
    ax.set_ylabel("P(can pay)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=6, frameon=False)
    return fig


def plot_pnl(pnl, *, size: str = "single"):
    """Per-generation profit and company P&L (median with 10-90% bars), $B, symlog scale."""
    fig, ax = _new_axes(size)
    g = pnl["generation"].to_numpy()
    for col, colour, off, label in (
        ("generation_profit", PALETTE[0], -0.1, "generation profit"),
        ("company_pnl", PALETTE[3], 0.1, "company P&L"),
    ):
        med = pnl[f"{col}_p50"].to_numpy() / 1e9
        err = [med - pnl[f"{col}_p10"].to_numpy() / 1e9, pnl[f"{col}_p90"].to_numpy() / 1e9 - med]
        ax.errorbar(g + off, med, yerr=err, fmt="o", ms=3, color=colour, label=label)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xticks(g, [f"{int(y)}" for y in pnl["trained_in"]])
    ax.set_xlabel("generation trained in")
    ax.set_ylabel("$B")
    ax.legend(fontsize=6, frameon=False)
    return fig
