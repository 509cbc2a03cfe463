"""scaling: Bayesian scaling-law fits on CPU or GPU.

The public API, by layer of the data path: models (laws, priors, likelihoods) -> data
(tables, registry, prepare) -> infer (NUTS engine, point fits) -> analysis (diagnostics,
comparison, prediction, verdicts, backtests, forecasts) -> planning (revenue, compute) ->
plots -> studies (specs, runner, report). ``import scaling`` changes no JAX setting; call
:func:`enable_compilation_cache` to keep compiled programs across processes.
"""

from scaling import analysis, data, infer, models, planning, plots, studies
from scaling.analysis import (
    accelerated,
    backtest,
    compare,
    compose,
    crossing,
    diagnose,
    fit_index,
    forecast,
    frontier,
    marginal_returns,
    predict,
    returns,
    summary,
)
from scaling.data import DataError, data_dir, prepare
from scaling.data import registry as datasets
from scaling.errors import ScalingError, SpecError
from scaling.infer import Sampler, fit, fit_many, fit_point, fit_survey, hoffmann_grid, select_problem
from scaling.io import load, save
from scaling.models import (
    LAWS,
    LIKELIHOODS,
    Input,
    Law,
    Likelihood,
    Model,
    Param,
    Prior,
    get_law,
    get_likelihood,
    resolve,
)
from scaling.planning import plan, plan_year, run_plan
from scaling.plots import (
    plot_benchmark_curves,
    plot_can_pay,
    plot_capability_dates,
    plot_comparison,
    plot_cone,
    plot_elasticity,
    plot_fan,
    plot_fit,
    plot_fleet_fan,
    plot_forest,
    plot_pnl,
    plot_posterior,
    plot_rank,
    plot_risk_growth,
    plot_trace,
    save_figure,
)
from scaling.runtime import enable_compilation_cache
from scaling.studies import load_spec, run_spec

__version__ = "0.3.0"

__all__ = [
    "accelerated",
    "fit_index",
    "LAWS",
    "LIKELIHOODS",
    "DataError",
    "Input",
    "Law",
    "Likelihood",
    "Model",
    "Param",
    "Prior",
    "ScalingError",
    "Sampler",
    "SpecError",
    "__version__",
    "analysis",
    "backtest",
    "compare",
    "compose",
    "crossing",
    "data",
    "data_dir",
    "datasets",
    "diagnose",
    "enable_compilation_cache",
    "fit",
    "fit_many",
    "fit_point",
    "fit_survey",
    "forecast",
    "frontier",
    "get_law",
    "get_likelihood",
    "hoffmann_grid",
    "infer",
    "load",
    "load_spec",
    "marginal_returns",
    "models",
    "plan",
    "plan_year",
    "planning",
    "plot_benchmark_curves",
    "plot_can_pay",
    "plot_capability_dates",
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
    "plots",
    "predict",
    "prepare",
    "resolve",
    "returns",
    "run_plan",
    "run_spec",
    "save",
    "save_figure",
    "select_problem",
    "studies",
    "summary",
]
