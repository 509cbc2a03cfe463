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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from scaling.errors import ScalingError

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


def _new_axes(size: str):
    """A figure and axes without pyplot (no global state, any backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=_figsize(size), layout="constrained")
    return fig, fig.subplots()


def _figsize(size: str) -> tuple[float, float]:
    if size not in SIZES:
        raise ScalingError(f"The 'size' parameter must be one of {list(SIZES)}. Got {size!r} instead.")
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

    from scaling.io import atomic_write

    out = []
    for fmt in formats:
        target = Path(path).with_suffix(f".{fmt}")
        atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=dpi))
        out.append(str(target))
    return out


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
        raise ScalingError(
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
        raise ScalingError(f"{what}: unknown or non-scalar parameter(s) {bad}; the posterior has {scalar}.")
    return names


def _style_small(ax: Any) -> None:
    ax.tick_params(labelsize=6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
