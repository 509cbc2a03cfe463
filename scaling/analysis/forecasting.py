"""Forecasting capability timelines: trends in time, composition, threshold crossing.

* :func:`frontier` picks the frontier of a model table: a model is on the
  frontier when its value (e.g. training FLOP) is among the ``top_k`` largest of
  all models released up to its release date (Epoch AI's "top 10 at release" rule
  with ``top_k=10``; ``top_k=1`` keeps only record-setters).
* :func:`trend_draws` evaluates a fitted law along future dates, draw by draw.
* :func:`compose` pushes the draws of a capability-vs-compute fit through the
  draws of a compute-vs-date fit (draw i of one with a random draw of the other,
  never means), giving capability vs date.
* :func:`crossing` finds, per draw, the first date at which the trajectory
  reaches a threshold; draws that never reach it before the horizon are counted
  as "not by <horizon>" with their probability, never dropped.
* :func:`forecast` fits several trend shapes (exponential, super-exponential /
  slowdown, saturating), compares them by PSIS-LOO, and stacks their draws by the
  stacking weights so the forecast carries the shape uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from scaling.analysis.prediction import model_from_fit, predict
from scaling.checks import check_finite
from scaling.data.preparation import as_frame
from scaling.data.tables import to_decimal_year
from scaling.errors import ScalingError

SHAPES = ("exponential_trend", "quadratic_trend", "logistic_trend")


QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


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


def trend_draws(fit: xr.DataTree, dates: Sequence[Any], kind: str = "mean") -> np.ndarray:
    """Draws (sample, date) of a fitted trend at ``dates`` (ISO dates or decimal years)."""
    return _flat(predict(fit, list(dates), kind=kind))


def years(dates: Sequence[Any]) -> np.ndarray:
    s = pd.Series(list(dates))
    return to_decimal_year(s, "date", "dates", s.to_frame()).to_numpy(dtype=float)


def compose(capability_fit: xr.DataTree, compute_draws: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Capability draws at the compute trajectory draws (sample, date), draw by draw.

    Each compute trajectory draw is paired with a random draw of the capability
    fit (independent posteriors), so both uncertainties propagate.
    """
    law = model_from_fit(capability_fit).law
    if len(law.inputs) != 1 or law.inputs[0].transform != "log10":
        raise ScalingError(f"compose needs a capability law of one compute input; {law.name!r} is not.")
    const = capability_fit["constant_data"]
    c = float(const[f"center_{law.inputs[0].name}"])
    y_scale = float(const["y_scale"])
    post = capability_fit["posterior"].to_dataset()
    theta = {k: post[k].values.reshape(-1) for k in law.param_names}
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(next(iter(theta.values()))), size=compute_draws.shape[0])
    th = {k: jnp.asarray(v[pick]) for k, v in theta.items()}
    u = jnp.asarray(np.log10(compute_draws) - c)
    name = law.inputs[0].name
    return np.asarray(jax.vmap(lambda t, uu: law.mean({name: uu}, t, y_scale))(th, u))


@dataclass
class Crossing:
    """When does capability reach ``threshold``? Per-draw first crossing dates."""

    threshold: float
    horizon: float
    dates: np.ndarray  # decimal year per draw, NaN when not reached by the horizon
    p_never: float
    already: float
    compute: np.ndarray | None = None
    table: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __str__(self) -> str:
        return self.table.to_string(index=False)


def crossing(
    draws: np.ndarray,
    grid_years: np.ndarray,
    threshold: float,
    *,
    direction: str = "up",
    compute_draws: np.ndarray | None = None,
    quantiles: Sequence[float] = QUANTILES,
) -> Crossing:
    """First date each trajectory draw reaches ``threshold`` (linear interpolation on the grid).

    Parameters
    ----------
    draws : (sample, date) trajectories, e.g. from :func:`trend_draws` or :func:`compose`.
    grid_years : decimal years of the date axis (increasing); the last one is the horizon.
    direction : ``"up"`` (capability rising to the threshold) or ``"down"`` (loss falling to it).
    compute_draws : optional (sample, date) compute trajectories: the compute at the crossing is reported.

    Returns
    -------
    Crossing with per-draw ``dates`` (NaN: not reached by the horizon), ``p_never``,
    ``already`` (share of draws past the threshold at the first date) and a quantile ``table``.
    """
    if direction not in ("up", "down"):
        raise ScalingError(f"The 'direction' parameter of crossing must be 'up' or 'down'. Got {direction!r}.")
    v = draws if direction == "up" else -draws
    thr = threshold if direction == "up" else -threshold
    above = v >= thr
    hit = above.any(axis=1)
    first = np.argmax(above, axis=1)
    dates = np.full(v.shape[0], np.nan)
    comp = None if compute_draws is None else np.full(v.shape[0], np.nan)
    for i in np.flatnonzero(hit):
        j = first[i]
        if j == 0:
            dates[i] = grid_years[0]
            frac = 0.0
        else:
            lo, hi = v[i, j - 1], v[i, j]
            frac = (thr - lo) / (hi - lo) if hi != lo else 0.0
            dates[i] = grid_years[j - 1] + frac * (grid_years[j] - grid_years[j - 1])
        if comp is not None:
            a, b = compute_draws[i, max(j - 1, 0)], compute_draws[i, j]
            comp[i] = np.exp(np.log(a) + frac * (np.log(b) - np.log(a)))
    p_never = float(np.mean(~hit))
    horizon = float(grid_years[-1])
    rows = []
    for q in quantiles:
        # quantiles over all draws, with "never" draws placed beyond the horizon
        value = np.quantile(np.where(np.isnan(dates), np.inf, dates), q)
        row = {
            "quantile": q,
            "year": value if np.isfinite(value) else np.nan,
            "date": _as_date(value) if np.isfinite(value) else f"not by {_as_date(horizon)}",
        }
        if comp is not None:
            cq = np.quantile(np.where(np.isnan(comp), np.inf, comp), q)
            row["compute"] = cq if np.isfinite(cq) else np.nan
        rows.append(row)
    return Crossing(float(threshold), horizon, dates, p_never, float(np.mean(above[:, 0])), comp, pd.DataFrame(rows))


def _as_date(year: float) -> str:
    y = int(np.floor(year))
    start = pd.Timestamp(f"{y}-01-01")
    days = (pd.Timestamp(f"{y + 1}-01-01") - start).days
    return (start + pd.Timedelta(days=(year - y) * days)).strftime("%Y-%m-%d")


@dataclass
class Forecast:
    """Trend-shape forecast: fits, comparison, stacked draws and their summaries."""

    fits: dict[str, xr.DataTree]
    weights: dict[str, float]
    grid_years: np.ndarray
    draws: dict[str, np.ndarray]
    stacked: np.ndarray
    comparison: Any
    assumptions: list[str]
    crossing: Crossing | None = None

    def quantile_table(self, quantiles: Sequence[float] = (0.1, 0.5, 0.9), every: float = 1.0) -> pd.DataFrame:
        """Quantiles per year (rows) for each shape and the stacked forecast (columns)."""
        marks = np.arange(np.ceil(self.grid_years[0]), self.grid_years[-1] + 1e-9, every)
        idx = [int(np.argmin(np.abs(self.grid_years - m))) for m in marks]
        out = {"year": self.grid_years[idx]}
        for name, d in {**self.draws, "stacked": self.stacked}.items():
            for q in quantiles:
                out[f"{name}_q{round(100 * q)}"] = np.quantile(d[:, idx], q, axis=0)
        return pd.DataFrame(out)


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
    n_grid_per_year: int = 24,
    fit_kwargs: Mapping[str, Any] | None = None,
    fits: Mapping[str, xr.DataTree] | None = None,
    seed: int = 0,
) -> Forecast:
    """Fit trend shapes to ``y`` against date ``x``, stack them, and (optionally) time a threshold.

    The forecast is for the law's mean curve (the trend of the frontier), so a
    crossing date is when the *trend* reaches the threshold. Shapes are stacked by
    PSIS-LOO stacking weights; a shape that fails the diagnostics gate gets weight 0
    and is reported. ``fits`` may hold shapes already fitted to the same data (by
    name); only the others are fitted.
    """
    from scaling.analysis.comparison import compare
    from scaling.analysis.diagnostics import diagnose
    from scaling.infer.bayes import fit

    if threshold is not None:  # capability levels (minutes, scores, loss) are positive: checked before any fit
        threshold = check_finite("threshold", threshold, "forecast", positive=True)
    fit_kwargs = {"seed": seed, **(fit_kwargs or {})}
    given = dict(fits or {})
    fits = {s: given[s] if s in given else fit(data, s, x=x, y=y, where=where, **fit_kwargs) for s in shapes}
    assumptions = []
    gate = {s: diagnose(f) for s, f in fits.items()}
    ok = {s: f for s, f in fits.items() if gate[s].ok}
    for s in fits:
        if not gate[s].ok:
            assumptions.append(f"shape {s} left out: {gate[s].reasons[0]}")
    if not ok:
        raise ScalingError("No trend shape passed the diagnostics gate: " + "; ".join(assumptions))
    comparison = compare(ok) if len(ok) > 1 else None
    if comparison is not None and comparison.table is not None:
        weights = {s: float(comparison.table.loc[s, "weight"]) for s in ok}
    else:
        weights = {s: 1.0 / len(ok) for s in ok}
    t_obs = fits[shapes[0]]["constant_data"]["t"].values
    t0 = float(t_obs.max()) if start is None else float(years([start])[0])
    t1 = float(years([horizon])[0])
    if t1 <= t0:
        raise ScalingError(f"horizon {horizon!r} must be after the start of the forecast ({_as_date(t0)}).")
    grid = np.linspace(t0, t1, max(int((t1 - t0) * n_grid_per_year), 2) + 1)
    draws = {s: trend_draws(f, grid) for s, f in ok.items()}
    rng = np.random.default_rng(seed)
    n = min(d.shape[0] for d in draws.values())
    counts = rng.multinomial(n, [weights[s] for s in ok])
    stacked = np.concatenate(
        [draws[s][rng.choice(draws[s].shape[0], size=k, replace=False)] for s, k in zip(ok, counts, strict=True)]
    )
    n_points = int(fits[shapes[0]]["constant_data"]["n_points"])
    assumptions = [
        f"data: {n_points} rows of {y} against {x}, {_as_date(float(t_obs.min()))} to {_as_date(float(t_obs.max()))}"
        + (f" (where {where})" if where else ""),
        "shape weights (PSIS-LOO stacking): " + ", ".join(f"{s} {w:.2f}" for s, w in weights.items()),
        f"forecast of the trend (mean curve) from {_as_date(t0)} to {_as_date(t1)}",
        *assumptions,
    ]
    out = Forecast(fits, weights, grid, draws, stacked, comparison, assumptions)
    if threshold is not None:
        out.crossing = crossing(stacked, grid, threshold, direction=direction)
    return out
