"""Summary tables of fits (means, intervals, R-hat, ESS) via ArviZ."""

from __future__ import annotations

import pandas as pd
import xarray as xr


def sample_dims(fit: xr.DataTree) -> list[str]:
    """``["chain", "draw"]`` for MCMC fits, ``["sample"]`` for point/bootstrap fits."""
    return ["sample"] if "sample" in fit["posterior"].dims else ["chain", "draw"]


def summary(fit: xr.DataTree, *, var_names: list[str] | None = None, ci_prob: float = 0.94) -> pd.DataFrame:
    """Posterior mean, sd, equal-tailed ``ci_prob`` interval, R-hat and bulk/tail ESS.

    For point fits (bootstrap draws on a ``sample`` dim) only the statistics are
    given. Rows are parameters (law, likelihood, then the papers' parameters).
    """
    import arviz_stats as azs  # ArviZ's computations, without arviz-plots (matplotlib)

    dims = sample_dims(fit)
    kind = "stats" if dims == ["sample"] else "all"
    table = azs.summary(fit, var_names=var_names, kind=kind, ci_prob=ci_prob, sample_dims=dims)
    return pd.DataFrame(table)
