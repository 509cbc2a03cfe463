"""Forecasting capability timelines: trends in time, composition, threshold crossing.

* :func:`frontier` picks the frontier of a model table: a model is on the
  frontier when its value (e.g. training FLOP) is among the ``top_k`` largest of
  all models released up to its release date (Epoch AI's "top 10 at release" rule
  with ``top_k=10``; ``top_k=1`` keeps only record-setters).
* :func:`trend_draws` evaluates a fitted law along future dates, draw by draw
  (``kind="predictive"``: a new observation, ``"mean"``: the trend's curve).
* :func:`compose` pushes the draws of a capability-vs-compute fit through the
  draws of a compute-vs-date fit (draw i of one with a random draw of the other,
  never means), giving capability vs date; predictive by default (the capability
  fit's scatter is added), the mean curve with ``kind="mean"``.
* :func:`crossing` finds, per draw, the first date at which the trajectory
  reaches a threshold; draws that never reach it before the horizon are counted
  as "not by <horizon>" with their probability, never dropped.
* :func:`forecast` fits several trend shapes (:data:`SHAPES`: exponential, super-exponential /
  slowdown, saturating, and broken: a growth rate that changed at an unknown date), compares
  them, and mixes their draws by the stacking weights so the forecast carries the shape
  uncertainty. Two quantities are kept apart: the **predictive** distribution (parameter uncertainty plus the
  likelihood's scatter: where the next frontier model will land; the default,
  ``Forecast.stacked``) and the **trend** (the mean curve, ``Forecast.stacked_mean``).
  Two crossing questions follow: *when is a model released that reaches X*
  (``Forecast.crossing``: per draw, the first of the releases on a grid at the
  data's observed release rate whose predictive draw reaches X) and *when does the
  trend reach X* (``Forecast.trend_crossing``: the mean curve).

Why these defaults (rolling-origin backtests on the shared data, ``bench/CALIBRATION.md``: METR
frontier, Epoch compute, OpenAI revenue): the mean curve's 50/80/95% intervals covered 20/37/69%
of the later points; the predictive forecast covers 55/90/100%. The laws of date default to the
Student-t likelihood on log y (:mod:`scaling.models.trend_laws`), which took the stacked
forecast's CRPS from 0.475 (lognormal) to 0.377; adding the broken exponential to the shapes took
Epoch's from 0.422 to 0.288 (the stack's mean CRPS over five series: 0.86x the Huber point fit's,
from 0.99x). Shapes are weighted by PSIS-LOO stacking with
exact refits of points whose Pareto k exceeds 0.7; leave-future-out stacking
(``validation="lfo"``) is available and scored worse there (:mod:`scaling.analysis.validation`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.analysis.crossings import Crossing, as_date, crossing
from scaling.analysis.prediction import model_from_fit, observe, outputs_paired, predict
from scaling.checks import check_finite, check_seed
from scaling.data.preparation import as_frame
from scaling.data.tables import to_decimal_year
from scaling.deprecation import renamed
from scaling.errors import DataError, ScalingError
from scaling.infer.sampler import Sampler, fit_kwargs_alias

#: the trend shapes a forecast stacks by default: steady, bending, saturating, and a change of rate
SHAPES = ("exponential_trend", "quadratic_trend", "logistic_trend", "broken_exponential_trend")


def frontier(
    data: Any, *, date: str = "release_date", value: str = "training_flop", top_k: int = 10, since: str | None = None
) -> pd.DataFrame:
    """Rows on the frontier: ``value`` among the ``top_k`` largest released up to that date.

    Rows missing ``date`` or ``value`` are left out (they cannot be ranked); the
    returned frame's ``attrs["frontier_rule"]`` states the rule and counts.
    """
    df = as_frame(data)
    if top_k < 1:
        raise ScalingError(f"The 'top_k' parameter of frontier must be >= 1. Got {top_k!r} instead.")
    years = to_decimal_year(df[date], date, df.attrs.get("source", "data"), df)
    d = df.assign(_year=years, _v=pd.to_numeric(df[value], errors="coerce")).dropna(subset=["_year", "_v"])
    if since is not None:
        d = d[d["_year"] >= float(to_decimal_year(pd.Series([since]), "since", "frontier", d).iloc[0])]
    d = d.sort_values("_year", kind="stable")
    keep, seen = [], []
    for _, group in d.groupby("_year", sort=True):
        seen.extend(group["_v"].tolist())
        cut = sorted(seen, reverse=True)[min(top_k, len(seen)) - 1]
        keep.extend(group.index[group["_v"] >= cut])
    out = df.loc[keep]
    out.attrs = dict(df.attrs)
    out.attrs["frontier_rule"] = (
        f"{value} among the top {top_k} of all models released up to the same date"
        + (f", released from {since}" if since else "")
        + f": {len(out)} of {len(d)} ranked rows"
    )
    return out


def _flat(da: xr.DataArray) -> np.ndarray:
    dims = [d for d in da.dims if d != "grid"]
    return da.stack(s=dims).transpose("s", "grid").values


def trend_draws(fit: xr.DataTree, dates: Sequence[Any], kind: str = "mean", seed: int = 0) -> np.ndarray:
    """Draws (sample, date) of a fitted trend at ``dates`` (ISO dates or decimal years), float64.

    ``kind="mean"``: the trend's curve; ``"predictive"``: a new observation at each date
    (independent scatter per date, see :func:`scaling.predict`).
    """
    return _flat(predict(fit, list(dates), kind=kind, seed=seed, check=False))


def years(dates: Sequence[Any]) -> np.ndarray:
    s = pd.Series(list(dates))
    return to_decimal_year(s, "date", "dates", s.to_frame()).to_numpy(dtype=float)


def compose(
    capability_fit: xr.DataTree, compute_draws: np.ndarray, *, kind: str = "predictive", seed: int = 0
) -> np.ndarray:
    """Capability draws at the compute trajectory draws (sample, date), draw by draw, float64.

    Each compute trajectory draw is paired with a random draw of the capability
    fit (independent posteriors), so both uncertainties propagate. ``kind="predictive"``
    (default) adds the capability fit's scatter (its likelihood, or a point fit's residual
    scatter: a model trained with that compute); ``kind="mean"`` gives the capability curve.
    """
    if kind not in ("mean", "predictive"):
        raise ScalingError(f"The 'kind' parameter of compose must be 'mean' or 'predictive'. Got {kind!r}.")
    law = model_from_fit(capability_fit).law
    if len(law.inputs) != 1 or law.inputs[0].transform != "log10":
        raise ScalingError(f"compose needs a capability law of one compute input; {law.name!r} is not.")
    compute_draws = np.asarray(compute_draws, dtype=np.float64)
    if not np.all(compute_draws > 0):
        raise ScalingError("compose needs positive compute draws (the law uses log10 of compute).")
    const = capability_fit["constant_data"]
    c = float(const[f"center_{law.inputs[0].name}"])
    post = capability_fit["posterior"].to_dataset()
    theta = {k: post[k].values.reshape(-1) for k in law.param_names}
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(next(iter(theta.values()))), size=compute_draws.shape[0])
    th = {k: np.asarray(v[pick]) for k, v in theta.items()}
    u = {law.inputs[0].name: np.log10(compute_draws) - c}
    out = np.asarray(outputs_paired(law)(th, u), dtype=np.float64)
    return observe(capability_fit, out, kind, rng, pick=pick)


@dataclass
class Forecast:
    """Trend-shape forecast: fits, comparison, stacked draws and their summaries.

    ``draws`` / ``stacked``: predictive draws (a new observation at each grid date; the default
    quantity); ``mean_draws`` / ``stacked_mean``: the trend's mean curve. ``crossing``: when a
    released model reaches the threshold (predictive); ``trend_crossing``: when the trend does.
    ``unreliable``: the reason when no shape passed the diagnostics gate (no dates given).
    ``validation``: how the shapes were weighted (e.g. PSIS-LOO stacking).
    """

    fits: dict[str, xr.DataTree]
    weights: dict[str, float]
    grid_years: np.ndarray
    draws: dict[str, np.ndarray]
    stacked: np.ndarray
    comparison: Any
    assumptions: list[str]
    crossing: Crossing | None = None
    mean_draws: dict[str, np.ndarray] = field(default_factory=dict)
    stacked_mean: np.ndarray | None = None
    trend_crossing: Crossing | None = None
    unreliable: str | None = None
    validation: str = ""

    def predict(self, dates: Sequence[Any], kind: str = "predictive", seed: int = 0) -> np.ndarray:
        """Stacked draws (sample, date) at any ``dates``: the shapes' draws mixed by the weights."""
        per_shape = {s: trend_draws(self.fits[s], dates, kind, seed) for s in self.draws}
        return np.concatenate([per_shape[s][i] for s, i in _mix(per_shape, self.weights, np.random.default_rng(seed))])

    def quantile_table(self, quantiles: Sequence[float] = (0.1, 0.5, 0.9), every: float = 1.0) -> pd.DataFrame:
        """Quantiles per year (rows): each shape's and the stacked predictive distribution
        (``<shape>_q50``, ``stacked_q50``) and the stacked trend's mean curve (``trend_q50``)."""
        marks = np.arange(np.ceil(self.grid_years[0]), self.grid_years[-1] + 1e-9, every)
        idx = [int(np.argmin(np.abs(self.grid_years - m))) for m in marks]
        out = {"year": np.round(self.grid_years[idx], 2)}
        columns = {**self.draws, "stacked": self.stacked}
        if self.stacked_mean is not None:
            columns["trend"] = self.stacked_mean
        for name, d in columns.items():
            for q in quantiles:
                out[f"{name}_q{round(100 * q)}"] = np.quantile(d[:, idx], q, axis=0)
        return pd.DataFrame(out)


def _mix(draws: Mapping[str, np.ndarray], weights: Mapping[str, float], rng: np.random.Generator) -> np.ndarray:
    """Row indices ``(shape, draw)`` of a weighted mixture: multinomial counts per shape, then
    draws without replacement within each shape (Yao et al. 2018, stacking of predictive draws)."""
    n = min(d.shape[0] for d in draws.values())
    p = np.clip([weights[s] for s in draws], 0.0, None)
    counts = rng.multinomial(n, p / p.sum())  # stacking weights may sum to 1 + rounding
    return [(s, rng.choice(draws[s].shape[0], size=k, replace=False)) for s, k in zip(draws, counts, strict=True)]


@renamed(fit_kwargs=fit_kwargs_alias("forecast"), n_grid_per_year="num_grid_per_year")
def forecast(
    data: Any,
    *,
    x: str,
    y: str,
    horizon: float | str = 2030.0,
    threshold: float | None = None,
    direction: str = "up",
    shapes: Sequence[str] = SHAPES,
    where: str | None = None,
    start: float | str | None = None,
    num_grid_per_year: int = 24,
    sampler: Sampler | Mapping[str, Any] | None = None,
    fits: Mapping[str, xr.DataTree] | None = None,
    validation: str = "auto",
    seed: int = 0,
) -> Forecast:
    """Fit trend shapes to ``y`` against date ``x``, stack them, and (optionally) time a threshold.

    The forecast is predictive (parameter uncertainty plus each shape's likelihood scatter:
    where a model released at that date will land); the trend's mean curve is kept beside it
    (``stacked_mean``). With ``threshold``, ``crossing`` answers *when is a model released that
    reaches it* (the first of the releases, on a grid at the training data's release rate, whose
    predictive draw reaches it) and ``trend_crossing`` *when does the trend reach it*.

    Shapes are weighted by ``validation`` (see :func:`scaling.analysis.validation.shape_weights`:
    ``"auto"``/``"loo"`` is PSIS-LOO stacking with an exact refit of points whose Pareto k exceeds
    0.7, ``"lfo"`` leave-future-out stacking, ``"equal"``); the method used is in ``assumptions``.
    A shape with too few rows for its parameters is left out, with a note. A shape
    that fails the diagnostics gate gets weight 0 and is reported; if none passes, the forecast
    is marked ``unreliable`` with the reason and its crossings give no dates. ``fits`` may hold
    shapes already fitted to the same data (by name); only the others are fitted.

    ``sampler``: the NUTS settings of the shapes' fits and of the validation's refits (a
    :class:`~scaling.infer.sampler.Sampler` or a mapping of some of its settings; ``fit_kwargs`` is its
    deprecated name). ``num_grid_per_year``: points of the forecast grid per year (``n_grid_per_year``
    is its deprecated name). ``seed``: an int or a JAX key (the fits' seed, and the mixing of the shapes' draws).
    """
    from scaling.analysis.diagnostics import diagnose
    from scaling.analysis.validation import shape_weights
    from scaling.infer.bayes import fit

    if threshold is not None:  # capability levels (minutes, scores, loss) are positive: checked before any fit
        threshold = check_finite("threshold", threshold, "forecast", positive=True)
    seed = check_seed(seed, "forecast")
    given, fits, notes = dict(fits or {}), {}, []
    for s in shapes:
        try:
            fits[s] = given[s] if s in given else fit(data, s, x=x, y=y, where=where, sampler=sampler, seed=seed)
        except DataError as e:  # e.g. fewer rows than the shape has parameters: left out, said so
            if s == shapes[-1] and not fits:
                raise
            notes.append(f"shape {s} left out: {e}")
    shapes = tuple(fits)
    gate = {s: diagnose(f) for s, f in fits.items()}
    ok = {s: f for s, f in fits.items() if gate[s].ok}
    for s in fits:
        if not gate[s].ok:
            notes.append(f"shape {s} left out: {gate[s].reasons[0]}")
    unreliable = None
    if ok:
        weights, validation_used, comparison = shape_weights(ok, method=validation, sampler=sampler, seed=seed)
    else:
        unreliable = "no trend shape passed the diagnostics gate: " + "; ".join(notes)
        ok, comparison, validation_used = fits, None, "none (unreliable)"
        weights = {s: 1.0 / len(ok) for s in ok}
    t_obs = fits[shapes[0]]["constant_data"]["t"].values
    t0 = float(t_obs.max()) if start is None else float(years([start])[0])
    t1 = float(years([horizon])[0])
    if t1 <= t0:
        raise ScalingError(f"horizon {horizon!r} must be after the start of the forecast ({as_date(t0)}).")
    grid = np.linspace(t0, t1, max(int((t1 - t0) * num_grid_per_year), 2) + 1)
    span = float(t_obs.max() - t_obs.min())
    rate = float(np.clip((len(t_obs) - 1) / span if span > 0 else 1.0, 1.0, num_grid_per_year))
    releases = np.arange(t0 + 1.0 / rate, t1 + 1e-9, 1.0 / rate)
    if releases.size < 2:
        releases = np.array([t0 + (t1 - t0) / 2, t1])
    pred = {s: trend_draws(f, grid, "predictive", seed) for s, f in ok.items()}
    mean = {s: trend_draws(f, grid, "mean") for s, f in ok.items()}
    rel = {s: trend_draws(f, releases, "predictive", seed + 1) for s, f in ok.items()} if threshold else {}
    mix = _mix(pred, weights, np.random.default_rng(seed))
    stacked = np.concatenate([pred[s][i] for s, i in mix])
    stacked_mean = np.concatenate([mean[s][i] for s, i in mix])
    n_points = int(fits[shapes[0]]["constant_data"]["n_points"])
    assumptions = [
        f"data: {n_points} rows of {y} against {x}, {as_date(float(t_obs.min()))} to {as_date(float(t_obs.max()))}"
        + (f" (where {where})" if where else ""),
        f"shape weights ({validation_used.split(' (')[0]}): " + ", ".join(f"{s} {w:.2f}" for s, w in weights.items()),
        *([f"validation: {validation_used}"] if " (" in validation_used else []),
        f"predictive forecast (trend uncertainty plus the scatter of individual models about it) from "
        f"{as_date(t0)} to {as_date(t1)}; the trend's mean curve is given beside it",
        *notes,
    ]
    if unreliable:
        assumptions.insert(0, f"UNRELIABLE: {unreliable}; no dates are given")
    out = Forecast(fits, weights, grid, pred, stacked, comparison, assumptions, None, mean, stacked_mean, None)
    out.unreliable, out.validation = unreliable, validation_used
    if threshold is not None:
        released = np.concatenate([rel[s][i] for s, i in mix])
        out.crossing = crossing(
            released,
            releases,
            threshold,
            direction=direction,
            question=f"when is a model released that reaches {threshold:g} (predictive, {rate:.1f} releases a year)",
            unreliable=unreliable,
        )
        out.trend_crossing = crossing(
            stacked_mean,
            grid,
            threshold,
            direction=direction,
            question=f"when does the trend (mean curve) reach {threshold:g}",
            unreliable=unreliable,
        )
    return out
