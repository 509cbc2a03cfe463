"""Publication plots. Every function returns a :class:`matplotlib.figure.Figure` made without
pyplot (nothing is shown), in the Okabe-Ito colour-blind-safe :data:`PALETTE`, at a journal's
single- or double-column width (:data:`SIZES`); :func:`save_figure` writes PNG, PDF and SVG.

One module per family of figures: ``fit`` (data with predictive bands), ``posterior``
(marginals, forests, trace and rank plots), ``comparison`` (PSIS-LOO, returns along compute),
``forecast`` (fan chart, revenue cone, P(can pay), P&L), ``fleet`` (policies by risk and growth,
the fleet under one policy).
"""

from scaling.plots.base import DPI, PALETTE, SIZES, save_figure, tick_label
from scaling.plots.capability import benchmark_table, plot_benchmark_curves, plot_capability_dates
from scaling.plots.comparison import plot_comparison, plot_elasticity
from scaling.plots.fit import draw_fit, fit_curves, plot_fit
from scaling.plots.fleet import plot_fleet_fan, plot_risk_growth
from scaling.plots.forecast import plot_can_pay, plot_cone, plot_fan, plot_pnl
from scaling.plots.posterior import plot_forest, plot_posterior, plot_rank, plot_trace

__all__ = [
    "DPI",
    "PALETTE",
    "SIZES",
    "benchmark_table",
    "plot_benchmark_curves",
    "plot_capability_dates",
    "draw_fit",
    "fit_curves",
    "plot_can_pay",
    "plot_comparison",
    "plot_cone",
    "plot_elasticity",
    "plot_fan",
    "plot_fit",
    "plot_fleet_fan",
    "plot_forest",
    "plot_pnl",
    "plot_posterior",
    "plot_rank",
    "plot_risk_growth",
    "plot_trace",
    "save_figure",
    "tick_label",
]
