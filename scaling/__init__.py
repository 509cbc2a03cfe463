"""scaling: Bayesian scaling-law fits on CPU or GPU.

Public names are re-exported lazily so that ``import scaling`` (and the CLI's
``--help``) does not pay for importing JAX, numpyro and ArviZ. No module is named
after a function it exports (``predict`` lives in ``prediction``), so
``scaling.<name>`` means the same thing whatever was imported first.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from .runtime import enable_compilation_cache as _enable_compilation_cache  # noqa: E402

_enable_compilation_cache()  # a new process loads compiled samplers from disk (SCALING_JAX_CACHE=off disables)

_EXPORTS = {
    "fit": "inference",
    "fit_many": "inference",
    "select_problem": "inference",
    "fit_point": "point",
    "hoffmann_grid": "point",
    "predict": "prediction",
    "summary": "tables",
    "diagnose": "diagnostics",
    "compare": "comparison",
    "returns": "diminishing",
    "backtest": "backtesting",
    "forecast": "forecasting",
    "crossing": "forecasting",
    "frontier": "forecasting",
    "compose": "forecasting",
    "plot_fan": "plots",
    "plot_cone": "plots",
    "plot_can_pay": "plots",
    "plot_pnl": "plots",
    "plan": "economics",
    "run_spec": "studies",
    "load_spec": "spec",
    "run_plan": "economics",
    "marginal_returns": "diminishing",
    "save": "io",
    "load": "io",
    "plot_fit": "plots",
    "plot_posterior": "plots",
    "plot_forest": "plots",
    "plot_comparison": "plots",
    "plot_elasticity": "plots",
    "plot_trace": "plots",
    "plot_rank": "plots",
    "save_figure": "plots",
    "get_law": "laws",
    "LAWS": "laws",
    "Law": "laws",
    "Param": "laws",
    "Input": "laws",
    "get_likelihood": "likelihoods",
    "LIKELIHOODS": "likelihoods",
    "Likelihood": "likelihoods",
    "Prior": "priors",
    "DataError": "data",
    "data_dir": "data",
    "prepare": "data",
}

__all__ = ["__version__", "datasets", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name == "datasets":
        return importlib.import_module(".datasets", __name__)
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'scaling' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
