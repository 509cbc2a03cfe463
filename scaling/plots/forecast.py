"""Forecast and planning figures: the fan chart (:func:`plot_fan`), the revenue cone
(:func:`plot_cone`), P(can pay) against the commitment (:func:`plot_can_pay`) and the
model-as-a-company P&L (:func:`plot_pnl`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scaling.plots.base import PALETTE, _bands, _figsize, _log_axis, _new_axes, json_col

if TYPE_CHECKING:
    pass


def plot_fan(fc, *, size: str = "double", log_y: bool = True, probs: tuple[float, ...] = (0.5, 0.8, 0.95)):
    """Fan chart of a :class:`scaling.analysis.forecasting.Forecast`: data, the stacked *predictive* bands
    (where a model released then will land), the stacked trend's mean curve (median, dashed), each
    shape's predictive median, the threshold and (lower panel) the distributions of the two crossing
    dates (a released model reaching it; the trend reaching it) with P(not by horizon).
    An unreliable forecast (no shape passed the diagnostics gate) is drawn with its reason and no dates.
    """
    from matplotlib.figure import Figure

    show_dates = fc.crossing is not None and not fc.unreliable
    rows = 2 if show_dates else 1
    w, h = _figsize(size)
    fig = Figure(figsize=(w, h * (1.4 if rows == 2 else 1)), layout="constrained")
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
        ax.fill_between(
            fc.grid_years, lo, hi, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=f"{p:.0%} predictive"
        )
    if fc.stacked_mean is not None:
        ax.plot(
            fc.grid_years,
            np.median(fc.stacked_mean, axis=0),
            color="0.15",
            lw=1.2,
            ls="--",
            label="stacked trend: mean curve",
        )
    shape_colours = [c for c in PALETTE if c not in (PALETTE[0], PALETTE[3])]  # not the band's or the data's
    for k, (name, d) in enumerate(fc.draws.items()):
        ax.plot(
            fc.grid_years,
            np.median(d, axis=0),
            color=shape_colours[k % len(shape_colours)],
            lw=1.0,
            label=f"{name} predictive median (w={fc.weights[name]:.2f})",
        )
    if fc.crossing is not None:
        ax.axhline(fc.crossing.threshold, color="0.3", ls=":", lw=0.8, label="threshold")
    if log_y:
        _log_axis(ax, "y")
    ax.set_ylabel(json_col(first, "y") or "y")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    title = f"predictive forecast, shapes weighted by {(fc.validation or 'stacking').split(' (')[0]}"
    if fc.unreliable:
        title = "UNRELIABLE: " + fc.unreliable[:120]
    ax.set_title(title, fontsize=8)
    if show_dates:
        c, t = fc.crossing, fc.trend_crossing
        for crossing_, colour, label in ((c, PALETTE[0], "a released model"), (t, "0.3", "the trend")):
            if crossing_ is None:
                continue
            hit = crossing_.dates[np.isfinite(crossing_.dates)]
            axes[1].hist(
                hit,
                bins=40,
                color=colour,
                alpha=0.5,
                label=f"{label} (P not by {c.horizon:.0f}: {crossing_.p_never:.2f})",
            )
        axes[1].set_ylabel("draws")
        axes[1].set_xlabel("year it reaches the threshold")
        axes[1].legend(fontsize=6, frameon=False)
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
    _log_axis(ax, "y")
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


def plot_pit(pits, *, size: str = "single", bins: int = 10):
    """PIT histograms (share of predictive draws below each held-out value), one per method, with
    the uniform line a calibrated forecast follows; mass piled at the right means the values landed
    above the predictive median, a U shape means intervals too narrow. ``pits``: {method: array}."""
    fig, ax = _new_axes(size)
    edges = np.linspace(0.0, 1.0, bins + 1)
    for k, (name, p) in enumerate(pits.items()):
        p = np.asarray(p, dtype=float)
        if p.size == 0:
            continue
        dens = np.histogram(p, bins=edges)[0] / p.size * bins
        ax.step(
            edges,
            np.r_[dens, dens[-1]],
            where="post",
            color=PALETTE[k % len(PALETTE)],
            lw=1.4,
            label=f"{name} ({p.size})",
        )
    ax.axhline(1.0, color="0.4", ls=":", lw=0.8, label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_xlabel("PIT: share of predictive draws below the held-out value")
    ax.set_ylabel("density")
    ax.legend(fontsize=6, frameon=False)
    return fig
