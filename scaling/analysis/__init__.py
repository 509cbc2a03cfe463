"""Questions asked of fits: diagnostics, law comparison, predictions, the diminishing-returns
verdict, extrapolation backtests and forecasts."""

from scaling.analysis.acceleration import accelerated
from scaling.analysis.backtesting import backtest
from scaling.analysis.capability import compare_eci, fit_index, index_diagnosis, predict_scores
from scaling.analysis.capability_checks import leave_future_out, leave_one_benchmark_out
from scaling.analysis.comparison import compare
from scaling.analysis.diagnostics import diagnose
from scaling.analysis.diminishing import marginal_returns, returns
from scaling.analysis.forecasting import compose, crossing, forecast, frontier
from scaling.analysis.prediction import point_scatter, predict
from scaling.analysis.tables import summary

__all__ = [
    "accelerated",
    "backtest",
    "compare_eci",
    "fit_index",
    "index_diagnosis",
    "leave_future_out",
    "leave_one_benchmark_out",
    "predict_scores",
    "compare",
    "compose",
    "crossing",
    "diagnose",
    "forecast",
    "frontier",
    "marginal_returns",
    "point_scatter",
    "predict",
    "returns",
    "summary",
]
