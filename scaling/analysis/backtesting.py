"""Extrapolation backtests: fit below a cutoff, predict above it, score both ways.

For each cutoff, the rows whose split value (the law's input in natural units,
compute ``C = 6 N D`` for chinchilla, or any ``split_on`` column) is below the
cutoff train, the rest test. Each method gives predictive draws at the test
points and is scored on them:

* ``coverage_50/80/95``: share of test points inside the central 50/80/95%
  predictive interval (a calibrated method matches the nominal level);
* ``crps``: continuous ranked probability score, ``E|X - y| - E|X - X'| / 2``
  from the draws, averaged over test points (lower is better), in **log10 units of y
  for positive laws** (decades: comparable across studies and quantities) and in
  data units for scores;
* ``median_abs_log10_error``: median of ``|log10(median prediction) - log10 y|``
  (positive laws; NaN for scores), and ``median_abs_error`` in data units.

Methods: ``bayes`` (:func:`scaling.fit`, posterior predictive; gated by
:func:`scaling.diagnose`, whose status is in the table), and the usual ways:
``huber`` (:func:`scaling.fit_point`, Huber loss + L-BFGS, then
``predict(point_fit, kind="predictive")``: bootstrap parameter draws plus the
residual scatter ``s t_{n-k}``, see :mod:`scaling.analysis.prediction`) and
``least_squares`` (``scipy.optimize.curve_fit`` on y with the law's exact Jacobian,
parameter draws from its covariance plus Gaussian residual noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from scaling.analysis.diagnostics import diagnose
from scaling.analysis.prediction import _outputs, predict, transform_inputs
from scaling.checks import check_seed
from scaling.data.preparation import as_frame, prepare
from scaling.data.tables import to_decimal_year
from scaling.deprecation import renamed
from scaling.errors import DataError, ScalingError
from scaling.infer.bayes import fit
from scaling.infer.point import fit_point
from scaling.infer.sampler import Sampler, fit_kwargs_alias
from scaling.models.law import Law
from scaling.models.model import resolve

METHODS = ("bayes", "huber", "least_squares")


@dataclass
class Backtest:
    """Result of :func:`backtest`: one ``table`` row per (cutoff, method)."""

    table: pd.DataFrame
    predictions: dict[tuple[float, str], np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    date_split: bool = False  # cutoffs are decimal years of a date column
    observed: dict[float, np.ndarray] = field(default_factory=dict)  # test y per cutoff (order of predictions)

    def __str__(self) -> str:
        from scaling.analysis.crossings import as_date

        cutoff = (lambda v: as_date(v)) if self.date_split else (lambda v: f"{v:.3g}")
        return self.table.to_string(
            index=False, float_format=lambda v: f"{v:.3g}", formatters={"cutoff": cutoff} if len(self.table) else None
        )


def crps(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Sample CRPS per point: ``mean|X - y| - mean|X - X'| / 2``; draws shaped (sample, point)."""
    s = np.sort(draws, axis=0)
    n = s.shape[0]
    weights = (2 * np.arange(1, n + 1) - n - 1)[:, None]
    spread = 2.0 * np.sum(weights * s, axis=0) / n**2  # E|X - X'| from the order statistics
    return np.mean(np.abs(draws - y[None, :]), axis=0) - 0.5 * spread


def score(
    draws: np.ndarray, y: np.ndarray, probs: Sequence[float] = (0.5, 0.8, 0.95), *, log10: bool = False
) -> dict[str, float]:
    """Coverage of central intervals, CRPS and median errors of predictive draws (sample, point).

    With ``log10`` (positive quantities) everything is scored on ``log10`` of draws and ``y``:
    CRPS in decades. Every point is scored: a NaN draw, or a non-positive value under
    ``log10``, raises instead of being dropped (infinite draws are ordered like any other).
    """
    draws = np.asarray(draws, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if log10:
        if np.any(draws <= 0) or np.any(y <= 0):
            raise DataError("score(log10=True) needs positive draws and observations; score scores with log10=False.")
        draws, y = np.log10(draws), np.log10(y)
    if np.isnan(draws).any() or np.isnan(y).any():
        bad = int(np.sum(np.isnan(draws).any(axis=0) | np.isnan(y)))
        raise DataError(f"score got NaN predictive draws or observations at {bad} point(s); they cannot be scored.")
    out: dict[str, float] = {}
    for p in probs:
        lo, hi = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2], axis=0)
        out[f"coverage_{round(100 * p)}"] = float(np.mean((y >= lo) & (y <= hi))) if y.size else np.nan
    med = np.median(draws, axis=0)
    with np.errstate(invalid="ignore"):
        out["crps"] = float(np.mean(crps(draws, y))) if y.size else np.nan
    out["median_abs_log10_error"] = float(np.median(np.abs(med - y))) if log10 and y.size else np.nan
    out["median_abs_error"] = float(np.median(np.abs(10**med - 10**y if log10 else med - y))) if y.size else np.nan
    return out


def pit(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability integral transform per point: the share of draws below ``y`` (ties split).
    Uniform on [0, 1] for a calibrated forecast; values piled near 1 mean ``y`` above the median."""
    draws = np.asarray(draws, dtype=np.float64)
    return np.mean(draws < y[None, :], axis=0) + 0.5 * np.mean(draws == y[None, :], axis=0)


def _split_values(df: pd.DataFrame, law: Law, xs: list[str], split_on: str | None) -> pd.Series:
    if split_on is not None:
        if split_on not in df.columns:
            raise DataError(f"split_on column {split_on!r} not found; columns are {list(df.columns)}.")
        values = to_decimal_year(df[split_on], split_on, str(df.attrs.get("source", "data")), df)
        if values.isna().any():
            r = values.index[values.isna()][0]
            raise DataError(f"split_on column {split_on!r} is missing a value in row {r}; filter it with where=.")
        return values
    if len(law.inputs) == 1:
        inp = law.inputs[0]
        vals = transform_inputs(law, {inp.name: df[xs[0]].to_numpy()})[inp.name]
        return pd.Series(10**vals if inp.transform == "log10" else vals, index=df.index)
    if law.name == "chinchilla":
        return 6.0 * pd.to_numeric(df[xs[0]]) * pd.to_numeric(df[xs[1]])
    raise ScalingError(f"Pass split_on=<column> to backtest law {law.name!r}.")


def _huber_draws(train, law, xs, y, x_test, point_kwargs, units, seed):
    """``predict(fit_point(...), kind="predictive")``: bootstrap parameters plus residual scatter."""
    pf = fit_point(train, law, x=xs, y=y, units=units, **point_kwargs)
    return _flat(predict(pf, x_test, kind="predictive", seed=seed, check=False))


def _flat(da) -> np.ndarray:
    return da.stack(s=[d for d in da.dims if d != "grid"]).transpose("s", "grid").values


def _least_squares_draws(train, law, xs, y, x_test, rng, n_draws, units):
    """``scipy.optimize.curve_fit`` on y in the law's parameters (bounded by the prior supports),
    with the Jacobian from JAX (finite differences of a float32 program do not resolve it)."""
    from scipy.optimize import curve_fit

    pf = fit_point(train, law, x=xs, y=y, units=units, num_starts=32)  # its best fit is the starting point
    const = pf["constant_data"].to_dataset()
    center = {i.name: float(const[f"center_{i.name}"]) for i in law.inputs}
    y_scale = float(const["y_scale"])
    x_train = {i.name: const[i.name].values for i in law.inputs}
    u_train = {k: jnp.asarray(v - center[k]) for k, v in transform_inputs(law, x_train).items()}
    names = law.param_names

    def mean_of(p):
        return law.mean(u_train, dict(zip(names, p, strict=True)), y_scale)

    jac_fn = jax.jit(jax.jacfwd(lambda p: mean_of(list(p))))

    def model(_, *p):
        return np.asarray(mean_of(list(p)), dtype=np.float64)

    def jac(_, *p):
        return np.asarray(jac_fn(jnp.asarray(p)), dtype=np.float64)

    supports = [p.prior.to_numpyro().support for p in law.params]
    lo = [float(getattr(s, "lower_bound", -np.inf)) for s in supports]
    hi = [float(getattr(s, "upper_bound", np.inf)) for s in supports]
    p0 = np.clip([float(pf["point_estimate"][k]) for k in names], np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    yv = pf["observed_data"]["y"].values
    try:
        popt, pcov = curve_fit(model, np.zeros_like(yv), yv, p0=p0, bounds=(lo, hi), jac=jac, maxfev=20000)
    except (RuntimeError, ValueError) as e:
        return None, f"least_squares failed on this split: {e}"
    if not np.all(np.isfinite(pcov)):
        return None, "least_squares: the parameter covariance is not finite (parameters not identified)"
    draws = rng.multivariate_normal(popt, pcov, size=n_draws, check_valid="ignore")
    draws = np.clip(draws, np.array(lo) + 1e-9, np.array(hi) - 1e-9)
    theta = {k: draws[:, i] for i, k in enumerate(names)}
    sigma = float(np.sqrt(np.sum((yv - model(None, *popt)) ** 2) / max(len(yv) - len(names), 1)))
    u_test = {k: np.asarray(v - center[k]) for k, v in transform_inputs(law, x_test).items()}
    out = np.asarray(_outputs(law)(theta, u_test), dtype=np.float64)
    if law.log_output:  # positive law: the residual scatter in log y keeps draws positive
        r = np.log(yv) - np.log(np.maximum(model(None, *popt), 1e-300))
        s_log = float(np.sqrt(np.sum(r**2) / max(len(yv) - len(names), 1)))
        return y_scale * np.exp(out + s_log * rng.normal(size=out.shape)), None
    return out + sigma * rng.normal(size=out.shape), None


@renamed(cutoff="cutoffs", fit_kwargs=fit_kwargs_alias("backtest"))
def backtest(
    data: Any,
    law: str,
    *,
    x: str | Sequence[str],
    y: str,
    cutoffs: Sequence[float] | float | None = None,
    split_on: str | None = None,
    likelihood: str | None = None,
    priors: Mapping[str, Any] | None = None,
    law_options: Mapping[str, Any] | None = None,
    where: str | None = None,
    dropna: bool = False,
    units: Mapping[str, str] | None = None,
    methods: Sequence[str] = METHODS,
    probs: Sequence[float] = (0.5, 0.8, 0.95),
    sampler: Sampler | Mapping[str, Any] | None = None,
    point_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Backtest:
    """Fit below each of ``cutoffs`` (rolling origin; one value for one split), predict above, score.

    Parameters
    ----------
    data, law, x, y, likelihood, priors, law_options, where, dropna, units : as in :func:`scaling.fit`.
    cutoffs : the split values (one or several), in the split column's natural units (FLOP, or
        decimal year for dates: ``split_on="release_date", cutoffs=[2024.0]``); ``cutoff`` (one value)
        is its deprecated name.
    split_on : column to split on (default: the law's input; 6 N D for chinchilla).
    methods : any of ``"bayes"``, ``"huber"``, ``"least_squares"``.
    sampler : the NUTS settings of the Bayesian fits (a :class:`~scaling.infer.sampler.Sampler` or a
        mapping of some of its settings; ``fit_kwargs`` is its deprecated name).
    point_kwargs : extra arguments for :func:`scaling.fit_point` (default point fit: 64 starts and 200
        bootstrap replicates).
    seed : an int or a JAX key.

    Returns
    -------
    :class:`Backtest` whose ``table`` has columns ``cutoff, method, n_train, n_test,
    coverage_50, coverage_80, coverage_95, crps, median_abs_log10_error,
    median_abs_error, status`` (CRPS in log10 units for positive laws).
    """
    if cutoffs is None:
        raise ScalingError("backtest needs cutoffs=: one split value, or a list of them (rolling origin).")
    cutoffs = [cutoffs] if np.ndim(cutoffs) == 0 else list(cutoffs)
    seed = check_seed(seed, "backtest")
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ScalingError(f"Unknown backtest method(s) {sorted(unknown)}; choose from {list(METHODS)}.")
    model = resolve(law, likelihood, priors=priors, law_options=law_options)
    law_obj, lik = model.law, model.likelihood
    df = as_frame(data)
    xs = [x] if isinstance(x, str) else list(x)
    prep = prepare(df, model, x=xs, y=y, where=where, dropna=dropna, units=units)  # validate everything once
    df = df.loc[prep.rows]
    split = _split_values(df, law_obj, xs, split_on)
    point = {"num_starts": 64, "num_bootstrap": 200, "bootstrap_starts": 4, "seed": seed}
    for old in ("n_starts", "n_bootstrap"):  # fit_point's deprecated names (it warns) replace the defaults too
        if old in (point_kwargs or {}):
            point.pop("num" + old[1:])
    point_kwargs = point | dict(point_kwargs or {})
    rows, preds, notes, observed = [], {}, list(prep.notes), {}
    rng = np.random.default_rng(seed)
    y_clean = pd.Series(prep.y, index=prep.rows)  # validated, in fractions for scores
    for c in cutoffs:
        train, test = df[split < c], df[split >= c]
        if len(test) == 0 or len(train) <= len(law_obj.params) + len(lik.param_names):
            notes.append(f"cutoff {c:.10g}: {len(train)} training and {len(test)} test rows; skipped")
            continue
        y_test = y_clean.loc[test.index].to_numpy()
        observed[float(c)] = y_test
        x_test = {i.name: test[col].to_numpy() for i, col in zip(law_obj.inputs, xs, strict=True)}
        base = {"cutoff": float(c), "n_train": len(train), "n_test": len(test)}
        for method in methods:
            status, draws = "pass", None
            if method == "bayes":
                f = fit(train, model, x=xs, y=y, units=units, sampler=sampler, seed=seed)
                status = diagnose(f).status
                kind = "mean" if lik.counts else "predictive"
                draws = _flat(predict(f, x_test, kind=kind, seed=seed, check=False))
            elif method == "huber":
                draws = _huber_draws(train, law_obj, xs, y, x_test, point_kwargs, units, seed)
            else:
                draws, why = _least_squares_draws(train, law_obj, xs, y, x_test, rng, 1000, units)
                if draws is None:
                    status = "fail"
                    notes.append(f"cutoff {c:.10g}: {why}")
            scores = score(draws, y_test, probs, log10=law_obj.log_output) if draws is not None else {}
            rows.append({**base, "method": method, **scores, "status": status})
            if draws is not None:
                preds[(float(c), method)] = draws
    cols = [
        "cutoff",
        "method",
        "n_train",
        "n_test",
        *[f"coverage_{round(100 * p)}" for p in probs],
        "crps",
        "median_abs_log10_error",
        "median_abs_error",
        "status",
    ]
    date_split = split_on is not None and _is_date(df[split_on])
    return Backtest(pd.DataFrame(rows, columns=cols), preds, notes, date_split, observed)


def _is_date(values: pd.Series) -> bool:
    """Whether a split column holds dates (not numbers): its cutoffs are then decimal years."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    return not pd.api.types.is_numeric_dtype(values) and bool(pd.to_numeric(values, errors="coerce").isna().any())
