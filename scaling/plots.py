"""Publication plots. Every function returns its figure and never calls ``plt.show()``.

Figures are :class:`matplotlib.figure.Figure` objects made without pyplot (no global
state, any backend), in the Okabe-Ito colour-blind-safe :data:`PALETTE`, at a
journal's single- or double-column width (:data:`SIZES`, inches); :func:`save_figure`
writes PNG and the vector formats PDF and SVG.

* :func:`plot_fit`: data with posterior predictive bands on log-compute (or date) axes,
  the extrapolated region shaded;
* :func:`plot_posterior`: marginal posteriors of the parameters; :func:`plot_forest`:
  one parameter across datasets;
* :func:`plot_comparison`: PSIS-LOO law comparison; :func:`plot_elasticity`: marginal
  returns / elasticity along compute;
* :func:`plot_fan`, :func:`plot_cone`, :func:`plot_can_pay`, :func:`plot_pnl`: forecasts
  and the compute plan;
* :func:`plot_trace`, :func:`plot_rank`: sampler diagnostics for a report's appendix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import xarray as xr

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
SIZES = {"single": (3.5, 2.6), "double": (7.2, 4.0)}
#: Resolution of raster files written by :func:`save_figure` (dots per inch).
DPI = 200


_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")


def tick_label(x: float) -> str:
    """Plain-text tick label: ``0.5``, ``20``, ``10²⁰``, ``3×10²⁰`` (Unicode superscripts).

    Log axes use it instead of matplotlib's mathtext labels, which cost about a
    second of parsing the first time a figure is drawn in a process.
    """
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)) + 1e-9)
    mantissa = round(x / 10.0**exponent, 2)
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa:g}\u00d7{power}"


def _log_axis(ax: Any, which: str) -> None:
    """Log scale on axis ``which`` ("x" or "y") with :func:`tick_label` labels."""
    from matplotlib.ticker import LogFormatter

    class Ticks(LogFormatter):
        def _num_to_string(self, x, vmin, vmax):
            return tick_label(x)

    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis = ax.xaxis if which == "x" else ax.yaxis
    axis.set_major_formatter(Ticks())
    axis.set_minor_formatter(Ticks(labelOnlyBase=False))


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
    """Data with the posterior predictive bands (default 50/80/95%) and median curve; for a point
    fit, its curve (with ``n_bootstrap``, the replicates' bands).

    One-input laws: y against x on log axes (log10 inputs) or against the year;
    ``extend`` widens the grid by that many decades (or years) past the data, and
    the extrapolated region is shaded. Two-input laws (chinchilla): observed
    against predicted, with each point's predictive interval. The same as
    ``draw_fit(fit_curves(fit, ...), ...)``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    return draw_fit(fit_curves(fit, probs=probs, extend=extend, n_grid=n_grid), size=size, ax=ax, title=title)


def fit_curves(
    fit: xr.DataTree, *, probs: tuple[float, ...] = (0.5, 0.8, 0.95), extend: float = 0.0, n_grid: int = 200
) -> dict[str, Any]:
    """Everything :func:`plot_fit` draws, computed from the fit: plain arrays and labels, no matplotlib.

    Keys: ``y`` (observed), ``ylabel``, ``log_y``, ``title``, ``kind`` and, for one-input laws
    (``kind="curve"``): ``x`` (observed inputs), ``grid``, ``bands`` (``[(p, lower, upper)]``, widest
    first, of the posterior predictive draws; of the law's curve for count likelihoods and bootstrap
    replicates; none for a point fit without bootstrap), ``band_label`` (``"predictive"``,
    ``"credible (mean)"`` or ``"bootstrap"``), ``median`` (of the law's curve) and ``curve_label``
    (``"median law"``, or ``"best fit"`` for a point fit without bootstrap), ``log_x``,
    ``xlabel``, ``extrapolated`` (the shaded x range, or None); for two-input laws
    (``kind="observed_vs_predicted"``): ``median``, ``lower``, ``upper`` (95%) of each point's
    posterior predictive draws.
    """
    from .prediction import model_from_fit, predict

    law, lik = model_from_fit(fit)
    kind = "predictive" if lik is not None and not lik.counts else "mean"
    y = fit["observed_data"]["y"].values
    dims = ["sample"] if "sample" in fit["posterior"].dims else ["chain", "draw"]
    out: dict[str, Any] = {
        "y": y,
        "ylabel": json_col(fit, "y") or "y",
        "log_y": law.log_output,
        "title": f"{law.name}: {law.formula}",
    }
    if len(law.inputs) == 1:
        inp = law.inputs[0]
        xo = fit["constant_data"][inp.name].values
        t = np.log10(xo) if inp.transform == "log10" else xo
        lo, hi = t.min(), t.max()
        tg = np.linspace(lo - 0.02 * (hi - lo), hi + extend + 0.02 * (hi - lo), n_grid)
        xg = 10**tg if inp.transform == "log10" else tg
        draws = predict(fit, xg, kind=kind).stack(s=dims).transpose("s", "grid").values
        curve = draws if kind == "mean" else predict(fit, xg, kind="mean").stack(s=dims).transpose("s", "grid").values
        edge = 10**hi if inp.transform == "log10" else hi
        point = dims == ["sample"]
        out |= {
            "kind": "curve",
            "x": xo,
            "grid": xg,
            "bands": _bands(draws, probs) if len(draws) > 1 else [],  # a point fit without bootstrap: no band
            "band_label": "bootstrap" if point else ("predictive" if kind == "predictive" else "credible (mean)"),
            "curve_label": "best fit" if len(draws) == 1 else "median law",
            "median": np.nanmedian(curve, axis=0),
            "log_x": inp.transform == "log10",
            "xlabel": _label(fit, 0, inp.doc),
            "extrapolated": (edge, xg[-1]) if extend > 0 else None,
        }
    else:
        pp = fit["posterior_predictive"]["y"] if "posterior_predictive" in fit.children else None
        if pp is None:
            raise ValueError("Observed-vs-predicted plots need a Bayesian fit with a posterior_predictive group.")
        draws = pp.stack(s=dims).transpose("s", ...).values
        lower, upper = np.nanquantile(draws, [0.025, 0.975], axis=0)
        out |= {"kind": "observed_vs_predicted", "median": np.nanmedian(draws, axis=0), "lower": lower, "upper": upper}
    return out


def draw_fit(curves: Mapping[str, Any], *, size: str = "double", ax: Any = None, title: str | None = None):
    """Draw :func:`fit_curves` output (matplotlib only: no JAX, no fit needed). Returns the figure."""
    fig, ax = (ax.figure, ax) if ax is not None else _new_axes(size)
    y = curves["y"]
    if curves["kind"] == "curve":
        xg = curves["grid"]
        for i, (p, a, b) in enumerate(curves["bands"]):
            label = f"{p:.0%} {curves['band_label']}"
            ax.fill_between(xg, a, b, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=label)
        ax.plot(xg, curves["median"], color=PALETTE[0], lw=1.5, label=curves.get("curve_label", "median law"))
        ax.scatter(curves["x"], y, s=14, color=PALETTE[3], zorder=3, label="data", edgecolor="white", linewidth=0.4)
        if curves["extrapolated"] is not None:
            ax.axvspan(*curves["extrapolated"], color="0.5", alpha=0.12, lw=0, label="extrapolation")
        if curves["log_x"]:
            _log_axis(ax, "x")
        ax.set_xlabel(curves["xlabel"])
    else:
        med, lo, hi = curves["median"], curves["lower"], curves["upper"]
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
    if curves["log_y"]:
        _log_axis(ax, "y")
    ax.set_ylabel(curves["ylabel"])
    ax.set_title(title or curves["title"], fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig


def _new_axes(size: str):
    """A figure and axes without pyplot (no global state, any backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_figsize(size), layout="constrained")
    return fig, fig.subplots()


def _figsize(size: str) -> tuple[float, float]:
    if size not in SIZES:
        raise ValueError(f"The 'size' parameter must be one of {list(SIZES)}. Got {size!r} instead.")
    return SIZES[size]


def json_col(fit: xr.DataTree, key: str) -> str | None:
    import json

    return json.loads(fit.attrs["spec"]).get("columns", {}).get(key)


def _label(fit: xr.DataTree, i: int, doc: str) -> str:
    cols = json_col(fit, "x") or []
    return cols[i] if i < len(cols) else doc


def save_figure(fig, path, formats: tuple[str, ...] = ("png",), dpi: int = DPI) -> list[str]:
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
        ax.fill_between(fc.grid_years, lo, hi, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=f"{p:.0%} stacked")
    shape_colours = [c for c in PALETTE if c not in (PALETTE[0], PALETTE[3])]  # not the band's or the data's
    for k, (name, d) in enumerate(fc.draws.items()):
        ax.plot(
            fc.grid_years,
            np.median(d, axis=0),
            color=shape_colours[k % len(shape_colours)],
            lw=1.2,
            label=f"{name} median (w={fc.weights[name]:.2f})",
        )
    if fc.crossing is not None:
        ax.axhline(fc.crossing.threshold, color="0.3", ls="--", lw=0.8, label="threshold")
    if log_y:
        _log_axis(ax, "y")
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


# ----------------------------------------------------------------------------- parameters


def _grid_axes(size: str, n: int, ncols: int, row_height: float) -> tuple[Any, list[Any]]:
    """A figure of ``size``'s width with ``n`` small panels, ``ncols`` to a row (unused cells removed)."""
    from matplotlib.figure import Figure

    width, _ = _figsize(size)
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(width, row_height * nrows + 0.3), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).flat)
    for ax in axes[n:]:
        ax.remove()
    return fig, axes[:n]


def _one_problem(fit: xr.DataTree, what: str) -> None:
    if "problem" in fit["posterior"].dims:
        raise ValueError(
            f"{what} shows one problem; pick one with scaling.select_problem(fit, name), "
            "or compare a parameter across problems with plot_forest."
        )


def _var_names(fit: xr.DataTree, var_names: Sequence[str] | None, dims: Sequence[str], what: str) -> list[str]:
    """The requested posterior variables (default: every scalar one), checked to exist and be scalar."""
    post = fit["posterior"]
    scalar = [v for v in post.data_vars if set(post[v].dims) <= set(dims)]
    if var_names is None:
        return scalar
    names = [var_names] if isinstance(var_names, str) else list(var_names)
    bad = [v for v in names if v not in scalar]
    if bad or not names:
        raise ValueError(f"{what}: unknown or non-scalar parameter(s) {bad}; the posterior has {scalar}.")
    return names


def _style_small(ax: Any) -> None:
    ax.tick_params(labelsize=6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


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
    from .tables import sample_dims

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
            raise ValueError(f"plot_forest: the posterior{where} has no {var_name!r}; it has {list(post.data_vars)}.")
        da = post[var_name]
        if "problem" in da.dims:
            for p in da["problem"].values:
                label = str(p) if name is None else f"{name}: {p}"
                rows.append((label, da.sel(problem=p).values.reshape(-1)))
        else:
            rows.append(("fit" if name is None else str(name), da.values.reshape(-1)))
    if not rows:
        raise ValueError("plot_forest needs at least one fit.")
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
    var_name : the parameter, e.g. ``"alpha"`` or ``"doubling_time_days"``.
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


# ----------------------------------------------------------------------------- comparison and returns


def plot_comparison(comp: Any, *, size: str = "single"):
    """PSIS-LOO comparison of laws (the result of :func:`scaling.compare`), best at the top.

    For each law: its elpd (expected log pointwise predictive density,
    ``sum_i log p(y_i | y_-i)`` by PSIS-LOO) with +/- one standard error (circle), and,
    below it for every law but the best, the same point with the standard error of the
    *difference* to the best (triangle; the difference is what decides). The dashed line
    is the best elpd. Each row is annotated with ``elpd_diff +/- dse`` and the stacking
    weight ``w`` (Yao et al. 2018).

    A comparison that is ``"unreliable"`` (a fit failed the diagnostics gate) carries no
    numbers, and this raises :class:`ValueError` with its reasons instead of drawing.

    Returns
    -------
    matplotlib.figure.Figure; one circle marker per law.
    """
    t = getattr(comp, "table", None)
    if t is None:
        reasons = "; ".join(getattr(comp, "reasons", [])) or "no table"
        raise ValueError(f"plot_comparison: the comparison is unreliable and has no numbers to plot ({reasons}).")
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
    warn = "\nwarning: Pareto k > 0.7 at some points" if getattr(comp, "status", "ok") == "warn" else ""
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


def plot_elasticity(
    fit: xr.DataTree,
    grid: Any = None,
    *,
    quantity: str = "auto",
    probs: tuple[float, ...] = (0.5, 0.8, 0.95),
    rope: float | None = 0.1,
    extend: float = 0.0,
    n_grid: int = 50,
    size: str = "single",
    ax: Any = None,
    title: str | None = None,
):
    """Returns to compute along the compute axis: posterior median and 50/80/95% bands.

    The draws come from :func:`scaling.diminishing.marginal_returns` (``jax.grad`` of the
    law, draw by draw); see :mod:`scaling.diminishing` for the definitions. ``quantity``:

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
    from .diminishing import _observed_coordinate, marginal_returns
    from .prediction import model_from_fit
    from .tables import sample_dims

    law, _ = model_from_fit(fit)
    _one_problem(fit, "plot_elasticity")
    is_year = len(law.inputs) == 1 and law.inputs[0].transform == "year"
    t_obs = _observed_coordinate(fit, law)
    t_lo, t_hi = float(np.min(t_obs)), float(np.max(t_obs))
    have = "derived" in fit.children and "marginal_return" in fit["derived"].data_vars
    if have and grid is None and extend == 0:
        dt = fit
    else:
        if grid is None:
            t = np.linspace(t_lo, t_hi + float(extend), n_grid)
            grid = t if is_year else 10.0**t
        dt = marginal_returns(fit, grid)
    der = dt["derived"]
    if quantity == "auto":
        quantity = "marginal_return" if law.bounded else ("growth_rate" if "growth_rate" in der else "elasticity")
    if quantity not in der.data_vars:
        raise ValueError(
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


# ----------------------------------------------------------------------------- sampler diagnostics


def _chains(fit: xr.DataTree, var_names: Sequence[str] | None, what: str) -> dict[str, np.ndarray]:
    """name -> (chain, draw) draws; default the sampled parameters (law's and likelihood's), constants left out."""
    post = fit["posterior"]
    if "sample" in post.dims or "chain" not in post.dims:
        raise ValueError(
            f"{what} needs MCMC chains; this fit has none (a point fit's bootstrap replicates lie on a "
            "'sample' dim). Check a point fit with scaling.diagnose (optimiser convergence) instead."
        )
    _one_problem(fit, what)
    if var_names is None:
        from .prediction import model_from_fit

        law, lik = model_from_fit(fit)
        sampled = [*law.param_names, *(lik.param_names if lik is not None else ())]
        names = [
            v
            for v in sampled
            if v in post.data_vars and set(post[v].dims) <= {"chain", "draw"} and np.ptp(post[v].values) > 0
        ]
    else:
        names = _var_names(fit, var_names, ("chain", "draw"), what)
    if not names:
        raise ValueError(f"{what}: no varying parameters to plot.")
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
