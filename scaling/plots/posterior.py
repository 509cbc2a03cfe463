"""Posterior figures: marginals (:func:`plot_posterior`), one parameter across datasets or groups
(:func:`plot_forest`), and the sampler diagnostics of a report's appendix: per-chain traces
(:func:`plot_trace`) and rank plots (:func:`plot_rank`; Vehtari et al. 2021)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from scaling.errors import ScalingError
from scaling.plots.base import PALETTE, _figsize, _grid_axes, _one_problem, _style_small, _var_names

if TYPE_CHECKING:
    import xarray as xr


def plot_posterior(
    fit: xr.DataTree,
    var_names: Sequence[str] | None = None,
    *,
    ci_prob: float = 0.94,
    bins: int = 40,
    size: str = "double",
):
    """Marginal posterior of each parameter, one small panel each.

    Each panel is a density-normalised histogram of the parameter's draws (pooled over
    chains; the bootstrap replicates of a point fit). The vertical line is the posterior
    median and the thick bar along the bottom the central ``ci_prob`` interval
    ``[q((1 - p) / 2), q((1 + p) / 2)]`` (equal-tailed, as in :func:`scaling.summary`);
    the panel's title gives ``median [low, high]``.

    Parameters
    ----------
    fit : a single-problem fit (use :func:`scaling.select_problem` for a ``fit_many`` result).
    var_names : parameters to show; default every scalar posterior variable (the law's,
        the likelihood's and the papers' parameters).
    size : ``"single"`` (two panels a row) or ``"double"`` (four); the height grows with the rows.

    Returns
    -------
    matplotlib.figure.Figure, one axes per parameter.
    """
    from scaling.analysis.tables import sample_dims

    _one_problem(fit, "plot_posterior")
    names = _var_names(fit, var_names, sample_dims(fit), "plot_posterior")
    fig, axes = _grid_axes(size, len(names), 4 if size == "double" else 2, 1.35)
    post = fit["posterior"]
    q = [(1 - ci_prob) / 2, 0.5, (1 + ci_prob) / 2]
    for ax, name in zip(axes, names, strict=True):
        d = np.asarray(post[name].values, dtype=float).reshape(-1)
        d = d[np.isfinite(d)]
        _style_small(ax)
        ax.set_yticks([])
        if d.size == 0:
            ax.set_title(f"{name}\n(no finite draws)", fontsize=7)
            continue
        lo, med, hi = np.quantile(d, q)
        ax.hist(d, bins=bins, density=True, color=PALETTE[0], alpha=0.55, lw=0)
        ax.axvline(med, color=PALETTE[3], lw=1.2)
        ax.plot([lo, hi], [0, 0], color="0.15", lw=3, solid_capstyle="butt", clip_on=False)
        ax.set_title(f"{name}\n{med:.3g} [{lo:.3g}, {hi:.3g}]", fontsize=7)
    fig.suptitle(f"marginal posteriors: median and {ci_prob:.0%} interval", fontsize=8)
    return fig


def _forest_rows(fits: Mapping[str, xr.DataTree] | xr.DataTree, var_name: str) -> list[tuple[str, np.ndarray]]:
    """(label, draws) per dataset: a dict's entries, or a fit_many result's problems (in order)."""
    import xarray as xr

    items = [(None, fits)] if isinstance(fits, xr.DataTree) else list(fits.items())  # a DataTree is a Mapping too
    rows = []
    for name, dt in items:
        post = dt["posterior"]
        if var_name not in post.data_vars:
            where = "" if name is None else f" of {name!r}"
            raise ScalingError(f"plot_forest: the posterior{where} has no {var_name!r}; it has {list(post.data_vars)}.")
        da = post[var_name]
        if "problem" in da.dims:
            for p in da["problem"].values:
                label = str(p) if name is None else f"{name}: {p}"
                rows.append((label, da.sel(problem=p).values.reshape(-1)))
        elif "group" in da.dims:  # a partially pooled fit's per-group draws (e.g. "log_y0_group"): a row per group
            for g in da["group"].values:
                rows.append((str(g) if name is None else f"{name}: {g}", da.sel(group=g).values.reshape(-1)))
        else:
            rows.append(("fit" if name is None else str(name), da.values.reshape(-1)))
    if not rows:
        raise ScalingError("plot_forest needs at least one fit.")
    return rows


def plot_forest(
    fits: Mapping[str, xr.DataTree] | xr.DataTree,
    var_name: str,
    *,
    ci_prob: float = 0.94,
    ref: float | None = None,
    size: str = "single",
):
    """Forest plot of one parameter across datasets: one row per dataset, first at the top.

    Each row shows the posterior median (dot), the central 50% interval (thick line)
    and the central ``ci_prob`` interval (thin line), all equal-tailed quantiles of the
    draws (bootstrap replicates for point fits).

    Parameters
    ----------
    fits : a dict name -> fit (each a single fit, or a ``fit_many`` result whose problems
        become rows ``"name: problem"``), or one :func:`scaling.fit_many` result (rows are
        its ``problem`` coordinate).
    var_name : the parameter, e.g. ``"alpha"`` or ``"doubling_time_days"``; for a partially pooled
        fit, a per-group one (e.g. ``"log_y0_group"``) gives one row per group (its group effects).
    ref : optional reference value drawn as a dashed vertical line (a published estimate).

    Returns
    -------
    matplotlib.figure.Figure; its axes has one y tick per dataset.
    """
    from matplotlib.figure import Figure

    rows = _forest_rows(fits, var_name)
    width, _ = _figsize(size)
    fig = Figure(figsize=(width, 0.28 * len(rows) + 0.9), layout="constrained")
    ax = fig.subplots()
    y = np.arange(len(rows))[::-1]
    q = [(1 - ci_prob) / 2, 0.25, 0.5, 0.75, (1 + ci_prob) / 2]
    stats = np.array([np.nanquantile(d, q) if np.isfinite(d).any() else np.full(5, np.nan) for _, d in rows])
    ax.hlines(y, stats[:, 0], stats[:, 4], color=PALETTE[0], lw=1, label=f"{ci_prob:.0%} interval")
    ax.hlines(y, stats[:, 1], stats[:, 3], color=PALETTE[0], lw=3.5, label="50% interval")
    ax.scatter(stats[:, 2], y, s=18, color=PALETTE[3], zorder=3, edgecolor="white", linewidth=0.5, label="median")
    if ref is not None:
        ax.axvline(ref, color="0.4", ls="--", lw=0.8, label=f"reference {ref:g}")
    ax.set_yticks(y, [label for label, _ in rows], fontsize=7)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(var_name)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(f"{var_name}: median, 50% and {ci_prob:.0%} intervals", fontsize=9)
    ax.legend(fontsize=6, frameon=False, loc="best")
    return fig


def _chains(fit: xr.DataTree, var_names: Sequence[str] | None, what: str) -> dict[str, np.ndarray]:
    """name -> (chain, draw) draws; default the sampled parameters (law's and likelihood's), constants left out."""
    post = fit["posterior"]
    if "sample" in post.dims or "chain" not in post.dims:
        raise ScalingError(
            f"{what} needs MCMC chains; this fit has none (a point fit's bootstrap replicates lie on a "
            "'sample' dim). Check a point fit with scaling.diagnose (optimiser convergence) instead."
        )
    _one_problem(fit, what)
    if var_names is None:
        from scaling.analysis.prediction import is_point_fit, model_from_fit

        model = model_from_fit(fit)

        law, lik = model.law, (None if is_point_fit(fit) else model.likelihood)
        sampled = [*law.param_names, *(lik.param_names if lik is not None else ())]
        names = [
            v
            for v in sampled
            if v in post.data_vars and set(post[v].dims) <= {"chain", "draw"} and np.ptp(post[v].values) > 0
        ]
    else:
        names = _var_names(fit, var_names, ("chain", "draw"), what)
    if not names:
        raise ScalingError(f"{what}: no varying parameters to plot.")
    return {v: np.asarray(post[v].transpose("chain", "draw").values, dtype=float) for v in names}


def plot_trace(
    fit: xr.DataTree,
    var_names: Sequence[str] | None = None,
    *,
    bins: int = 30,
    size: str = "double",
):
    """Trace plot: one row per parameter, each chain in its own colour.

    Left: each chain's marginal (step histogram, density); right: the draws in order.
    Chains that agree overlap on the left and look like stationary, well-mixed noise
    around the same level on the right. Divergent transitions (``sample_stats.diverging``)
    are marked with black ticks at the bottom of the trace. Default parameters: the
    sampled ones (the law's and the likelihood's), not the derived papers' parameters.

    Raises :class:`ValueError` for point fits (no chains) and ``fit_many`` results (pick a
    problem with :func:`scaling.select_problem`).

    Returns
    -------
    matplotlib.figure.Figure with two axes per parameter.
    """
    from matplotlib.figure import Figure

    arrays = _chains(fit, var_names, "plot_trace")
    width, _ = _figsize(size)
    fig = Figure(figsize=(width, 1.0 * len(arrays) + 0.5), layout="constrained")
    axes = fig.subplots(len(arrays), 2, squeeze=False, width_ratios=[1, 2.6])
    div = None
    if "sample_stats" in fit.children and "diverging" in fit["sample_stats"].data_vars:
        div = np.asarray(fit["sample_stats"]["diverging"].transpose("chain", "draw").values, dtype=bool)
    for (name, a), (left, right) in zip(arrays.items(), axes, strict=True):
        edges = np.histogram_bin_edges(a[np.isfinite(a)], bins=bins)
        for c in range(a.shape[0]):
            colour = PALETTE[c % len(PALETTE)]
            left.hist(a[c], bins=edges, density=True, histtype="step", color=colour, lw=0.9)
            right.plot(np.arange(a.shape[1]), a[c], color=colour, lw=0.5, alpha=0.8, label=f"chain {c}")
        if div is not None and div.any():
            idx = np.flatnonzero(div.any(axis=0))
            right.plot(idx, np.zeros(len(idx)), "|", color="black", ms=5, transform=right.get_xaxis_transform())
        left.set_ylabel(name, fontsize=7)
        left.set_yticks([])
        right.set_xlim(0, a.shape[1] - 1)
        _style_small(left)
        _style_small(right)
    axes[0, 1].legend(fontsize=6, frameon=False, ncol=min(4, next(iter(arrays.values())).shape[0]), loc="upper right")
    axes[-1, 0].set_xlabel("value", fontsize=7)
    axes[-1, 1].set_xlabel("draw", fontsize=7)
    fig.suptitle("trace: each chain's marginal (left) and draws (right)", fontsize=8)
    return fig


def plot_rank(
    fit: xr.DataTree,
    var_names: Sequence[str] | None = None,
    *,
    bins: int = 20,
    ci_prob: float = 0.94,
    size: str = "double",
):
    """Rank plots (Vehtari et al. 2021): per-chain histograms of the pooled ranks.

    All ``S = M x N`` draws of a parameter (M chains of N draws) are replaced by their
    ranks 1..S; each chain's ranks are histogrammed in ``bins`` equal bins (one step
    line per chain). If the chains sample the same distribution, every histogram is
    uniform: counts near ``N / bins`` (dashed line), inside the shaded band that holds
    ``ci_prob`` of a uniform chain's bin counts (Binomial(N, 1 / bins) quantiles).
    A chain high at one end and low at the other sits in a different part of the posterior;
    a U or an inverted U means its spread differs. Default parameters as in :func:`plot_trace`.

    Returns
    -------
    matplotlib.figure.Figure, one axes per parameter.
    """
    from scipy.stats import binom, rankdata

    arrays = _chains(fit, var_names, "plot_rank")
    fig, axes = _grid_axes(size, len(arrays), 3 if size == "double" else 2, 1.4)
    for ax, (name, a) in zip(axes, arrays.items(), strict=True):
        m, n = a.shape
        k = max(1, min(bins, n))
        ranks = rankdata(a.reshape(-1), method="average").reshape(a.shape)
        edges = np.linspace(0.5, a.size + 0.5, k + 1)
        lo, hi = binom.interval(ci_prob, n, 1.0 / k)
        ax.axhspan(lo, hi, color="0.85", lw=0)
        ax.axhline(n / k, color="0.4", ls="--", lw=0.8)
        for c in range(m):
            counts, _ = np.histogram(ranks[c], bins=edges)
            ax.stairs(counts, edges, baseline=None, color=PALETTE[c % len(PALETTE)], lw=1, label=f"chain {c}")
        ax.set_title(name, fontsize=7)
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(bottom=0)
        ax.set_xticks([])
        ax.set_xlabel("rank (chains pooled)", fontsize=6)
        _style_small(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=6, frameon=False, loc="outside lower center", ncol=min(8, len(labels)))
    axes[0].set_ylabel("draws per bin", fontsize=7)
    fig.suptitle(f"rank plots: uniform if chains agree (band: {ci_prob:.0%} under uniformity)", fontsize=8)
    return fig
