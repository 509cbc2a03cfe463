"""Questions asked of fits: diagnostics, law comparison, predictions, the diminishing-returns
verdict, extrapolation backtests and forecasts."""

from scaling.analysis.backtesting import backtest
from scaling.analysis.comparison import compare
from scaling.analysis.diagnostics import diagnose
from scaling.analysis.diminishing import marginal_returns, returns
from scaling.analysis.forecasting import compose, crossing, forecast, frontier
from scaling.analysis.prediction import predict
from scaling.analysis.tables import summary

__all__ = [
    "backtest",
    "compare",
    "compose",
    "crossing",
    "diagnose",
    "forecast",
    "frontier",
    "marginal_returns",
    "predict",
    "returns",
    "summary",
]
