"""Figures of the capability index (:func:`scaling.analysis.fit_index`).

* :func:`plot_benchmark_curves`: benchmark-characteristic curves, the expected score
  ``c_j + (1 - c_j) sigmoid(a_j (theta - b_j))`` against theta (posterior median and 95% band) with
  each model's observed score at its posterior-median theta;
* :func:`plot_capability_dates`: theta per model (median and 95% interval) against release date;
* :func:`benchmark_table`: the difficulty / slope / floor table (medians and 95% intervals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from scaling.plots.base import PALETTE, _grid_axes, _new_axes, _style_small

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["benchmark_table", "plot_benchmark_curves", "plot_capability_dates"]


def _flat(fit: xr.DataTree, var: str) -> np.ndarray:
    return np.asarray(fit["posterior"][var].stack(sample=("chain", "draw")).transpose("sample", ...).values)


def benchmark_table(fit: xr.DataTree) -> pd.DataFrame:
    """Per benchmark: median and 95% interval of difficulty ``b``, slope ``a``, floor ``c``; scores seen."""
    post = fit["posterior"]
    out = pd.DataFrame(index=pd.Index(post["benchmark"].values, name="benchmark"))
    for v in ("b", "a", "c"):
        q = post[v].quantile([0.025, 0.5, 0.975], dim=("chain", "draw")).values
        out[v], out[f"{v}_lo"], out[f"{v}_hi"] = q[1], q[0], q[2]
    const = fit["constant_data"]
    seen = pd.Series(const["benchmark_of"].values[const["mask"].values > 0]).value_counts()
    out["n_scores"] = seen.reindex(out.index).fillna(0).astype(int)
    return out.sort_values("b")


def plot_benchmark_curves(
    fit: xr.DataTree, benchmarks: Sequence[str] | None = None, *, ncols: int = 4, size: str = "double"
):
    """Score against theta per benchmark: the fitted curve (median, 95% band) and the observed scores.

    Held-out scores (``holdout`` in the fit) are drawn hollow. Returns a matplotlib Figure.
    """
    post, const = fit["posterior"], fit["constant_data"]
    names = list(post["benchmark"].values)
    chosen = names if benchmarks is None else list(benchmarks)
    unknown = [b for b in chosen if b not in names]
    if unknown:
        raise ValueError(f"plot_benchmark_curves: benchmarks {unknown} are not in the fit; it has {names}.")
    theta = _flat(fit, "theta")
    med = np.median(theta, axis=0)
    grid = np.linspace(np.quantile(theta, 0.005), np.quantile(theta, 0.995), 120)
    a, b, c = (_flat(fit, v) for v in ("a", "b", "c"))
    fig, axes = _grid_axes(size, len(chosen), ncols, 1.6)
    models = list(post["model"].values)
    for ax, bench in zip(axes, chosen, strict=True):
        j = names.index(bench)
        curve = c[:, j, None] + (1 - c[:, j, None]) / (1 + np.exp(-a[:, j, None] * (grid[None] - b[:, j, None])))
        lo, mid, hi = np.quantile(curve, [0.025, 0.5, 0.975], axis=0)
        ax.fill_between(grid, lo, hi, color=PALETTE[0], alpha=0.25, lw=0)
        ax.plot(grid, mid, color=PALETTE[0], lw=1)
        sel = const["benchmark_of"].values == bench
        x = med[pd.Index(models).get_indexer(const["model_of"].values[sel])]
        y = fit["observed_data"]["y"].values[sel]
        train = const["mask"].values[sel] > 0
        ax.scatter(x[train], y[train], s=5, color=PALETTE[3], zorder=3)
        ax.scatter(x[~train], y[~train], s=7, facecolors="none", edgecolors=PALETTE[3], lw=0.6, zorder=3)
        ax.set_title(bench, fontsize=7)
        ax.set_ylim(-0.02, 1.02)
        _style_small(ax)
    fig.supxlabel("capability theta", fontsize=8)
    fig.supylabel("score", fontsize=8)
    return fig


def plot_capability_dates(fit: xr.DataTree, *, label: Sequence[str] = (), size: str = "double", ax: Any = None):
    """Theta per model (posterior median, 95% interval) against release date; ``label`` names models to annotate."""
    post = fit["posterior"]
    q = post["theta"].quantile([0.025, 0.5, 0.975], dim=("chain", "draw")).values
    dates = pd.to_datetime(fit["constant_data"]["date"].values)
    ok = ~pd.isna(dates)
    fig, ax = _new_axes(size) if ax is None else (ax.figure, ax)
    ax.errorbar(dates[ok], q[1][ok], yerr=[q[1][ok] - q[0][ok], q[2][ok] - q[1][ok]], fmt="o", ms=2.5,
                color=PALETTE[0], ecolor=PALETTE[5], elinewidth=0.6, capsize=0)  # fmt: skip
    models = list(post["model"].values)
    for m in label:
        if m in models:
            i = models.index(m)
            ax.annotate(m, (dates[i], q[1][i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("release date")
    ax.set_ylabel("capability theta (median, 95%)")
    return fig
