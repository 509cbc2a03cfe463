"""Out-of-sample checks of the capability index: scores the fit has not seen.

* :func:`leave_future_out`: fit on every score of the models released before ``cutoff`` and on a
  share ``reveal`` of each later model's scores (its other benchmarks are hidden); predict the hidden
  scores. This is the forecaster's question "given a new model's first results, what will it score
  on the rest?".
* :func:`leave_one_benchmark_out`: for each benchmark j, hide its scores except on ``k`` models
  (spread over its score range), so theta comes from the other benchmarks and (a_j, b_j, c_j) from
  those k scores; predict j's hidden scores. ``k = 0`` asks what theta alone says (a_j, b_j from
  their population priors).

Both refit the same structure (all models and benchmarks; hidden rows masked), so one compiled
sampler serves every refit. Scores are the coverage of central 50/80/95% predictive intervals and
the CRPS (:func:`scaling.analysis.backtesting.score`; CRPS in score units, lower is better).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from scaling.analysis.backtesting import score
from scaling.analysis.capability import fit_index, predict_scores
from scaling.data.hub import long_table
from scaling.errors import ScalingError

__all__ = ["leave_future_out", "leave_one_benchmark_out", "prediction_table"]

PROBS = (0.5, 0.8, 0.95)


def prediction_table(rows: pd.DataFrame, draws: np.ndarray) -> pd.DataFrame:
    """Held-out rows with the predictive median, 50/80/95% bounds and whether each covers the score."""
    out = rows.copy()
    out["median"] = np.median(draws, axis=0)
    for p in PROBS:
        lo, hi = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2], axis=0)
        out[f"lo{round(100 * p)}"], out[f"hi{round(100 * p)}"] = lo, hi
        out[f"in{round(100 * p)}"] = (out["score"] >= lo) & (out["score"] <= hi)
    return out


def _scores(rows: pd.DataFrame, draws: np.ndarray) -> dict[str, float]:
    s = score(draws, rows["score"].to_numpy(float), PROBS)
    return {k: v for k, v in s.items() if k.startswith(("coverage", "crps"))} | {"n": len(rows)}


def leave_future_out(
    table: pd.DataFrame, cutoff: str, *, reveal: float = 0.5, seed: int = 0, **fit_kw: Any
) -> tuple[dict[str, float], pd.DataFrame, Any]:
    """Fit before ``cutoff`` (plus a share of each later model's scores), predict the rest.

    Later models with a single score are predicted from none of their own scores (theta from its
    population prior): they are reported with ``revealed = 0``. Returns (scores, per-row table, fit).
    """
    df = long_table(table)
    if df["date"].isna().any():
        raise ScalingError("leave_future_out needs a release date on every row ('date'); load_hub provides them.")
    if not 0 < reveal < 1:
        raise ScalingError(f"The 'reveal' parameter of leave_future_out must be in (0, 1). Got {reveal!r} instead.")
    later = df["date"] >= pd.Timestamp(cutoff)
    if not later.any() or later.all():
        raise ScalingError(
            f"leave_future_out: cutoff {cutoff} leaves no models on one side; pick a date inside the data."
        )
    rng = np.random.default_rng(seed)
    hide = np.zeros(len(df), bool)
    revealed = {}
    for model, idx in df[later].groupby("model").groups.items():
        idx = rng.permutation(np.asarray(idx))
        n_show = int(np.floor(reveal * len(idx))) if len(idx) > 1 else 0
        hide[idx[n_show:]] = True
        revealed[model] = n_show
    fit = fit_index(df, holdout=hide, seed=seed, **fit_kw)
    rows, draws = predict_scores(fit, seed=seed)
    rows["revealed"] = rows["model"].map(revealed)
    return _scores(rows, draws), prediction_table(rows, draws), fit


def _shown(df: pd.DataFrame, bench: str, k: int) -> np.ndarray:
    """Positions of ``k`` rows of ``bench`` spread evenly over its sorted scores."""
    idx = df.index[df["benchmark"] == bench].to_numpy()
    order = idx[np.argsort(df.loc[idx, "score"].to_numpy(), kind="stable")]
    if k == 0:
        return np.array([], int)
    return order[np.unique(np.round(np.linspace(0, len(order) - 1, k)).astype(int))]


def leave_one_benchmark_out(
    table: pd.DataFrame, benchmarks: Sequence[str] | None = None, *, k: int = 4, min_scores: int = 10,
    seed: int = 0, **fit_kw: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """For each benchmark (default: those with at least ``min_scores`` scores), hide all but ``k`` of its scores.

    Returns (one row of scores per benchmark, per-row prediction table).
    """
    df = long_table(table)
    counts = df["benchmark"].value_counts()
    names = list(benchmarks) if benchmarks is not None else sorted(counts[counts >= min_scores].index)
    unknown = [b for b in names if b not in counts.index]
    if unknown:
        raise ScalingError(f"leave_one_benchmark_out: benchmarks {unknown} are not in the table.")
    per, tables = [], []
    for bench in names:
        hide = (df["benchmark"] == bench).to_numpy().copy()
        hide[_shown(df, bench, k)] = False
        fit = fit_index(df, holdout=hide, seed=seed, **fit_kw)
        rows, draws = predict_scores(fit, seed=seed)
        per.append({"benchmark": bench, **_scores(rows, draws), "diagnostics": fit.attrs["diagnostics_status"]})
        tables.append(prediction_table(rows, draws))
    return pd.DataFrame(per), pd.concat(tables, ignore_index=True)
