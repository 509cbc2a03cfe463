"""How forecasts weigh trend shapes: leave-future-out stacking, exact refits of high-k LOO points."""

import warnings

import numpy as np
import pandas as pd
import pytest

import scaling
from scaling.analysis.refits import RefitWrapper, fit_rows, log_density
from scaling.analysis.validation import lfo_window, shape_weights

SAMPLER = {"num_warmup": 300, "num_samples": 300, "num_chains": 4}
SHAPES = ("exponential_trend", "quadratic_trend")


def _trend(curvature: float, n: int = 24, seed: int = 0) -> pd.DataFrame:
    """Decimal years 2016-2025; ln y = 0.7 (t - 2020) + curvature (t - 2020)^2 + N(0, 0.25)."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.uniform(2016.0, 2025.0, n))
    ln_y = 0.7 * (t - 2020) + curvature * (t - 2020) ** 2 + 0.25 * rng.standard_normal(n)
    return pd.DataFrame({"date": t, "y": np.exp(ln_y)})


def _fits(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {s: scaling.fit(df, s, x="date", y="y", seed=1, progress=False, **SAMPLER, **kw) for s in SHAPES}


@pytest.fixture(scope="module")
def accelerating():
    return _fits(_trend(0.12))


def test_log_density_is_the_fits_own_log_likelihood(accelerating):
    """``log p(y_j | theta_s)`` rebuilt from the fit's rows equals the engine's pointwise log-likelihood."""
    f = accelerating["quadratic_trend"]
    ll = log_density(f, fit_rows(f)).values
    own = f["log_likelihood"]["y"].values
    np.testing.assert_allclose(ll, own, rtol=1e-4, atol=1e-3)


def test_lfo_prefers_the_shape_that_forecasts(accelerating):
    """Growth that accelerates: leave-future-out stacking puts most weight on the quadratic shape
    (the exponential fitted on the past under-predicts every later point)."""
    weights, desc, comparison = shape_weights(accelerating, method="lfo", sampler=SAMPLER)
    assert desc.startswith("leave-future-out stacking"), desc
    assert weights["quadratic_trend"] > 0.7, (weights, comparison.table)
    assert comparison.table.loc["quadratic_trend", "elpd"] > comparison.table.loc["exponential_trend", "elpd"]


def test_lfo_window_scales_with_the_release_rate():
    first, horizon = lfo_window(np.linspace(2010, 2025, 121))  # 8 points a year
    assert (first, horizon) == (61, 8)
    assert lfo_window(np.linspace(2019, 2025, 12)) == (6, 2)
    assert lfo_window(np.linspace(2019, 2025, 6)) == (5, 1)


def test_refit_on_a_subset_is_the_fit_of_those_rows(accelerating):
    """The wrapper's refit of the first rows gives the posterior a direct fit of them gives."""
    f = accelerating["exponential_trend"]
    wrapper = RefitWrapper(f, sampler=SAMPLER)
    train, left_out = wrapper.sel_observations(np.arange(16, 24))
    assert len(train) == 16 and len(left_out) == 8
    refit = wrapper.sample(train)
    direct = scaling.fit(train, "exponential_trend", x="t", y="y", seed=2, progress=False, **SAMPLER)
    for v in ("growth", "sigma"):
        a, b = refit.posterior[v].values.ravel(), direct.posterior[v].values.ravel()
        assert abs(np.median(a) - np.median(b)) < 0.25 * np.std(b), v


def test_high_k_points_are_refitted_exactly():
    """A far outlier gives PSIS-LOO a Pareto k > 0.7 under a normal scatter of log y; ``validation="loo"``
    refits it (reloo) and says so."""
    df = _trend(0.0, n=14, seed=3)
    df.loc[13, "y"] *= 60.0  # the last point far above the trend
    fits = _fits(df, likelihood="lognormal")
    weights, desc, comparison = shape_weights(fits, method="loo", sampler=SAMPLER)
    assert abs(sum(weights.values()) - 1) < 1e-6
    assert comparison.high_k, "the outlier should give a Pareto k above 0.7"
    assert "refitted exactly" in desc, desc
    assert comparison.table is not None and abs(comparison.table["weight"].sum() - 1) < 1e-6


def test_fits_with_measurement_error_fall_back_to_loo():
    df = _trend(0.0, n=14, seed=4).assign(se=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = {s: scaling.fit(df, s, x="date", y="y", y_err="se", seed=1, progress=False, **SAMPLER) for s in SHAPES}
    weights, desc, _ = shape_weights(fits, method="lfo", sampler=SAMPLER)
    assert "leave-future-out not available" in desc and "y_err" in desc, desc
    with pytest.raises(scaling.ScalingError, match="y_err"):
        RefitWrapper(fits["exponential_trend"])


def test_forecast_leaves_out_shapes_with_too_few_rows():
    """Five rows and the Student-t likelihood: the quadratic shape (5 parameters) cannot be fitted;
    the forecast goes on with the others and says which was left out and why."""
    df = _trend(0.0, n=5, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = scaling.forecast(df, x="date", y="y", horizon=2027, shapes=SHAPES, sampler=SAMPLER)
    assert list(fc.fits) == ["exponential_trend"]
    assert any("quadratic_trend left out" in a and "parameters" in a for a in fc.assumptions), fc.assumptions
