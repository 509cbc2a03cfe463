"""The fit figure (:func:`plot_fit`): data with posterior predictive (or bootstrap) bands on
log-compute or date axes, the extrapolated region shaded; :func:`fit_curves` gives the arrays it
draws, :func:`draw_fit` draws them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.deprecation import renamed
from scaling.errors import ScalingError
from scaling.plots.base import PALETTE, _bands, _label, _log_axis, _new_axes, json_col

if TYPE_CHECKING:
    import xarray as xr


@renamed(n_grid="num_grid")
def plot_fit(
    fit: xr.DataTree,
    *,
    probs: tuple[float, ...] = (0.5, 0.8, 0.95),
    extend: float = 0.0,
    num_grid: int = 200,
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
    return draw_fit(fit_curves(fit, probs=probs, extend=extend, num_grid=num_grid), size=size, ax=ax, title=title)


@renamed(n_grid="num_grid")
def fit_curves(
    fit: xr.DataTree, *, probs: tuple[float, ...] = (0.5, 0.8, 0.95), extend: float = 0.0, num_grid: int = 200
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
    from scaling.analysis.prediction import is_point_fit, model_from_fit, predict

    model = model_from_fit(fit)

    law, lik = model.law, (None if is_point_fit(fit) else model.likelihood)
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
        tg = np.linspace(lo - 0.02 * (hi - lo), hi + extend + 0.02 * (hi - lo), num_grid)
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
            raise ScalingError("Observed-vs-predicted plots need a Bayesian fit with a posterior_predictive group.")
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
