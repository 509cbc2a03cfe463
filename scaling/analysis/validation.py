"""How a forecast weighs its trend shapes: stacking on a validation score, and which one.

:func:`shape_weights` returns stacking weights (Yao, Vehtari, Simpson & Gelman 2018: the
weights ``w`` maximising ``sum_i log sum_k w_k p_k(y_i | ...)``, by ``arviz_stats.compare``)
and says which score they rest on:

* ``"loo"``, the default (``"auto"``): PSIS-LOO; points whose Pareto k exceeds 0.7 are
  refitted exactly (``arviz_stats.reloo``, one refit each, at most :data:`MAX_RELOO` per shape)
  instead of being stacked on an unreliable estimate.
* ``"lfo"``: leave-future-out cross-validation (Bürkner, Gabry & Vehtari 2020, approximate
  LFO-CV, ``arviz_stats.lfo_cv``), for laws of date. With the points in time order, each shape is
  fitted on the first ``L`` points and scored on the joint density of the next ``M``, for every
  origin ``L, L + 1, ...``; the posterior is carried from one origin to the next by
  Pareto-smoothed importance sampling and the shape is **refitted** on the points before an
  origin whenever the Pareto k of those weights exceeds 0.7. ``L = max(5, ceil(n/2))`` points;
  ``M`` = the points released in about a year (the data's release rate, at least 1, at most half
  the points after ``L``); series of fewer than 7 points fall back to PSIS-LOO. It asks how well
  a shape fitted on the past predicts the next year rather than a left-out middle point, but in
  the rolling-origin backtests on the shared data (``bench/CALIBRATION.md``) it forecast worse
  than PSIS-LOO stacking (pooled CRPS 0.521 vs 0.475): on Epoch's compute before 2021 the bending
  shapes did predict each next year well, and then the trend straightened. Hence not the default.
* ``"equal"``: 1/K each.

Fits that cannot be refitted (per-point measurement error, censoring or groups: see
:mod:`scaling.analysis.refits`) fall back to PSIS-LOO without refits, and the description says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from scaling.analysis.comparison import Comparison, compare, compare_table
from scaling.analysis.prediction import model_from_fit
from scaling.analysis.refits import RefitWrapper, refit_unsupported
from scaling.errors import ScalingError
from scaling.infer.sampler import Sampler

METHODS = ("auto", "lfo", "loo", "equal")
#: most points per shape refitted exactly by ``reloo``; beyond it the PSIS-LOO estimate is kept, with a warning
MAX_RELOO = 8
K_THRESHOLD = 0.7
#: fewest points for leave-future-out: 5 before the first origin and at least 2 origins
MIN_LFO_POINTS = 7
#: years of releases each leave-future-out origin is scored on
LFO_YEARS = 1.0


def lfo_window(t: np.ndarray, years_ahead: float = LFO_YEARS) -> tuple[int, int]:
    """``(L, M)``: points before the first origin and points scored per origin (module doc)."""
    n = len(t)
    first = max(5, int(np.ceil(n / 2)))
    span = float(np.max(t) - np.min(t))
    rate = (n - 1) / span if span > 0 else 1.0
    most = max(1, (n - first) // 2)
    return first, int(np.clip(round(rate * years_ahead), 1, most))


def lfo(
    fit: xr.DataTree, sampler: Sampler | Mapping[str, Any] | None = None, seed: int = 0, years_ahead: float = LFO_YEARS
) -> tuple[Any, int]:
    """Approximate leave-future-out CV of a date-trend fit (module doc): ``(ELPDDataLFO, refits)``."""
    import arviz_stats as azs

    t = fit["constant_data"][model_from_fit(fit).law.inputs[0].name].values
    order = np.argsort(t, kind="stable")
    first, horizon = lfo_window(t, years_ahead)
    wrapper = RefitWrapper(fit, order=order, sampler=sampler, seed=seed)
    with warnings.catch_warnings():  # refits on few rows may miss the gate; their density still counts
        warnings.simplefilter("ignore")
        out = azs.lfo_cv(
            wrapper.idata_orig,
            wrapper,
            min_observations=first,
            forecast_horizon=horizon,
            time_dim="point",
            pointwise=True,
            method="approx",
            k_threshold=K_THRESHOLD,
        )
    return out, wrapper.refits


def _lfo_weights(fits, sampler, seed):
    elpds, refits = {}, {}
    for name, f in fits.items():
        elpds[name], refits[name] = lfo(f, sampler, seed)
    table = compare_table(elpds)
    weights = {s: float(table.loc[s, "weight"]) for s in fits}
    e = next(iter(elpds.values()))  # the window is the same for every shape (same rows)
    n = int(next(iter(fits.values()))["constant_data"]["n_points"])
    desc = (
        f"leave-future-out stacking ({e.n_data_points} origins from point {e.min_observations + 1} of {n}, each "
        f"scored on the next {e.forecast_horizon} point(s); refits: "
        + ", ".join(f"{s} {r}" for s, r in refits.items())
        + ")"
    )
    return weights, desc, Comparison("pass", [], table)


def _loo_weights(fits, sampler, seed):
    import arviz_stats as azs

    comparison = compare(fits)
    if comparison.table is None:
        return {s: 1.0 / len(fits) for s in fits}, "equal weights (comparison unreliable)", comparison
    if not comparison.high_k:
        return {s: float(comparison.table.loc[s, "weight"]) for s in fits}, "PSIS-LOO stacking", comparison
    elpds, notes = {}, []
    for name, f in fits.items():
        n_high = len(comparison.high_k.get(name, ()))
        why = refit_unsupported(f)
        if n_high == 0 or why or n_high > MAX_RELOO:
            elpds[name] = azs.loo(f, pointwise=True)
            if n_high:
                reason = why or f"more than {MAX_RELOO}"
                notes.append(f"{name}: {n_high} point(s) with Pareto k > {K_THRESHOLD} not refitted ({reason})")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wrapper = RefitWrapper(f, sampler=sampler, seed=seed)
                elpds[name] = azs.reloo(wrapper, k_threshold=K_THRESHOLD, pointwise=True)
        except ScalingError as e:  # e.g. too few rows left for the shape's parameters
            elpds[name] = azs.loo(f, pointwise=True)
            notes.append(f"{name}: {n_high} point(s) with Pareto k > {K_THRESHOLD} not refitted ({e})")
            continue
        notes.append(f"{name}: {wrapper.refits} point(s) with Pareto k > {K_THRESHOLD} refitted exactly")
    table = compare_table(elpds)
    weights = {s: float(table.loc[s, "weight"]) for s in fits}
    unrefitted = any("not refitted" in n for n in notes)
    desc = "PSIS-LOO stacking (" + "; ".join(notes) + (": weigh the shapes with care)" if unrefitted else ")")
    return weights, desc, Comparison("warn" if unrefitted else "pass", notes, table, comparison.high_k)


def shape_weights(
    fits: Mapping[str, xr.DataTree],
    *,
    method: str = "auto",
    sampler: Sampler | Mapping[str, Any] | None = None,
    seed: int = 0,
) -> tuple[dict[str, float], str, Comparison | None]:
    """Stacking weights of the fitted shapes, a description of the method used, and the comparison.

    ``method``: ``"auto"`` or ``"loo"`` (PSIS-LOO, high-k points refitted), ``"lfo"``
    (leave-future-out) or ``"equal"`` (see the module doc). ``sampler``: settings for the refits, a
    :class:`~scaling.infer.sampler.Sampler` or a mapping (default: each fit's own chains and draws, the
    Sampler's other defaults).
    """
    if method not in METHODS:
        raise ScalingError(f"The 'validation' parameter of forecast must be one of {list(METHODS)}. Got {method!r}.")
    if len(fits) == 1 or method == "equal":
        return {s: 1.0 / len(fits) for s in fits}, "equal weights", None
    if method == "auto":  # PSIS-LOO with exact refits: it forecast better than LFO in the backtests (module doc)
        method = "loo"
    if method == "lfo":
        why = next((w for w in map(refit_unsupported, fits.values()) if w), None)
        n = int(next(iter(fits.values()))["constant_data"]["n_points"])
        if why is None and n < MIN_LFO_POINTS:
            why = f"{n} points, fewer than the {MIN_LFO_POINTS} it needs"
        if why is None:
            try:
                return _lfo_weights(fits, sampler, seed)
            except ScalingError as e:  # a refit on the first points could not be made
                why = str(e)
        weights, desc, comparison = _loo_weights(fits, sampler, seed)
        return weights, f"{desc} (leave-future-out not available: {why})", comparison
    return _loo_weights(fits, sampler, seed)
