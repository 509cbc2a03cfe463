"""Forecasting: frontier trends, threshold crossing, composition and trend-shape stacking."""

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import scaling
from scaling.analysis import forecasting as fc
from scaling.cli import app

from .conftest import shared_file


def test_frontier_rule():
    df = pd.DataFrame(
        {
            "release_date": ["2020-01-01", "2020-06-01", "2021-01-01", "2021-06-01", "2022-01-01"],
            "training_flop": [1e20, 5e19, 3e20, 2e20, 1e21],
        }
    )
    assert list(fc.frontier(df, top_k=1).index) == [0, 2, 4]
    assert list(fc.frontier(df, top_k=2).index) == [0, 1, 2, 3, 4]
    assert "top 1" in fc.frontier(df, top_k=1).attrs["frontier_rule"]


def test_metr_doubling_time_2019_to_april_2025():
    """METR: frontier doubling time ~7 months; bootstrap range 157-247 days (Kwa et al. 2025)."""
    th = scaling.datasets.load("time_horizons")
    frontier = th[(th["frontier"] == 1) & (th["release_date"] <= "2025-04-30")]
    days = scaling.fit(frontier, "exponential_trend", x="release_date", y="p50_minutes", seed=0)
    d = days.posterior["doubling_time_days"].values.ravel()
    lo, med, hi = np.percentile(d, [2.5, 50, 97.5])
    assert 190 <= med <= 235 and lo <= 247 and hi >= 157, (lo, med, hi)
    # cross-check on METR's own table (is_sota rows of the shared copy)
    shared = pd.read_csv(shared_file("metr_time_horizons/th1_0_benchmark_results.csv"))
    sota = shared[shared["is_sota"].astype(str) == "True"]
    sota = sota[sota["release_date"] <= "2025-04-30"]
    check = scaling.fit(sota, "exponential_trend", x="release_date", y="p50_minutes", seed=0)
    assert 170 <= float(check.posterior["doubling_time_days"].median()) <= 250


def test_epoch_frontier_compute_growth():
    """Frontier training compute (top 10 at release, 2010-2024) grows 4-5x a year (Sevilla & Roldan 2024)."""
    frontier = fc.frontier(scaling.datasets.load("epoch_models"), since="2010-01-01", top_k=10)
    fit = scaling.fit(frontier, "exponential_trend", x="release_date", y="training_flop", seed=0)
    a = fit.posterior["annual_factor"].values.ravel()
    lo, med, hi = np.percentile(a, [2.5, 50, 97.5])
    assert 4.0 <= med <= 5.0 and hi - lo > 0.1, (lo, med, hi)


def test_crossing_interval_contains_the_true_date():
    """Exponential truth: the 80% interval of the crossing date contains it in >= 8 of 10 seeds.

    Checked on 20 seeds at the same rate (>= 16 of 20), so a calibrated interval does not fail
    on binomial luck; over 40 seeds it covered the truth 33 times (82.5%).
    """
    g, y0, thr = np.log(2) / 0.6, 1.0, 1e4  # doubling every 0.6 years from 1 at 2020.0
    true_date = 2020.0 + np.log(thr / y0) / g
    data = {}
    for s in range(100, 120):
        rng = np.random.default_rng(s)
        t = np.sort(rng.uniform(2018.0, 2025.0, 25))
        data[f"s{s}"] = {"t": t, "y": y0 * np.exp(g * (t - 2020.0) + 0.3 * rng.normal(size=t.size))}
    fits = scaling.fit_many(data, "exponential_trend", x="t", y="y", seed=0)
    grid = np.linspace(2025.0, 2035.0, 241)
    inside = 0
    for s in data:
        c = fc.crossing(fc.trend_draws(scaling.select_problem(fits, s), grid), grid, thr)
        lo, hi = c.table.set_index("quantile").loc[[0.1, 0.9], "year"]
        inside += lo <= true_date <= hi
        assert c.p_never < 0.05
    assert inside >= 16, inside


def test_saturating_truth_below_threshold_is_mostly_never():
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(2012.0, 2026.0, 40))
    y = np.exp(np.log(100.0) - np.logaddexp(0.0, 1.2 * (2019.0 - t)) + 0.1 * rng.normal(size=t.size))
    fit = scaling.fit({"t": t, "y": y}, "logistic_trend", x="t", y="y", seed=0)
    grid = np.linspace(2026.0, 2040.0, 200)
    c = fc.crossing(fc.trend_draws(fit, grid), grid, 1000.0)
    assert c.p_never > 0.5
    assert c.table["date"].iloc[-1].startswith("not by 2040")


def test_crossing_direction_down_and_compute():
    grid = np.array([2025.0, 2026.0, 2027.0])
    loss = np.array([[3.0, 2.0, 1.0], [3.0, 2.9, 2.8]])
    compute = np.array([[1e24, 1e25, 1e26], [1e24, 1e25, 1e26]])
    c = fc.crossing(loss, grid, 1.5, direction="down", compute_draws=compute)
    assert c.dates[0] == pytest.approx(2026.5) and np.isnan(c.dates[1]) and c.p_never == 0.5
    assert c.compute[0] == pytest.approx(10**25.5, rel=1e-6)


def test_compose_pushes_draws_through():
    rng = np.random.default_rng(0)
    x = np.logspace(20, 26, 40)
    score = 0.25 + 0.6 / (1 + np.exp(-1.5 * (np.log10(x) - 23.0)))
    cap = scaling.fit(
        {"c": x, "s": np.clip(score + 0.01 * rng.normal(size=40), 0.01, 0.99)},
        "logistic",
        x="c",
        y="s",
        num_warmup=300,
        num_samples=300,
        seed=0,
    )
    compute = np.array([[1e22, 1e23, 1e24], [1e25, 1e26, 1e27]])
    out = fc.compose(cap, compute, kind="mean")  # the capability curve (the default adds its scatter)
    assert out.shape == (2, 3)
    assert np.all(np.diff(out, axis=1) > 0) and out[0, 1] == pytest.approx(0.55, abs=0.05)


def test_forecast_cli_writes_fan_chart_and_tables(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CliRunner().invoke(
            app,
            [
                "forecast",
                "time_horizons",
                "--x",
                "release_date",
                "--y",
                "p50_minutes",
                "--where",
                "frontier == 1",
                "--threshold",
                "10020",
                "--horizon",
                "2032",
                "--out",
                str(tmp_path),
            ],
        )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "assumptions" in text and "shape weights (PSIS-LOO stacking)" in text and "P(not by 2032)" in text
    for name in ("fan.png", "fan.pdf", "forecast_quantiles.csv", "crossing_quantiles.csv", "assumptions.txt"):
        assert (tmp_path / name).stat().st_size > 0, name
    table = pd.read_csv(tmp_path / "forecast_quantiles.csv")
    assert {"stacked_q50", "exponential_trend_q50", "quadratic_trend_q50", "logistic_trend_q50"} <= set(table)


# --- predictive by default, point-fit predictive draws, numerics, the gate -------------------------


@pytest.fixture(scope="module")
def trend_data():
    """Exponential truth: doubling every 0.6 years, lognormal scatter 0.3 nats, 2018-2025."""
    rng = np.random.default_rng(7)
    t = np.sort(rng.uniform(2018.0, 2025.0, 30))
    y = np.exp(np.log(2) / 0.6 * (t - 2020.0) + 0.3 * rng.normal(size=t.size))
    return {"t": t, "y": y}


@pytest.fixture(scope="module")
def trend_fits(trend_data):
    kw = {"num_warmup": 400, "num_samples": 400, "num_chains": 2, "seed": 0}
    return {s: scaling.fit(trend_data, s, x="t", y="y", **kw) for s in ("exponential_trend", "logistic_trend")}


def test_point_fit_predictive_recovers_the_scatter(trend_data):
    """Bootstrap + s t_{n-k}: the predictive spread of log y is the true 0.3 nats (plus parameter
    uncertainty), and 80% intervals cover about 80% of new draws from the truth."""
    pf = scaling.fit_point(trend_data, "exponential_trend", x="t", y="y", num_bootstrap=200, seed=0)
    s, df = scaling.analysis.prediction.point_scatter(pf)
    assert df == 28 and 0.2 < s < 0.4, (s, df)
    grid = np.linspace(2018.5, 2024.5, 40)
    pred = fc.trend_draws(pf, grid, "predictive")
    mean = fc.trend_draws(pf, grid, "mean")
    assert pred.dtype == np.float64 and np.log(pred).std(axis=0).mean() > 1.5 * np.log(mean).std(axis=0).mean()
    rng = np.random.default_rng(1)
    new = np.exp(np.log(2) / 0.6 * (grid - 2020.0) + 0.3 * rng.normal(size=(50, grid.size)))
    lo, hi = np.quantile(pred, [0.1, 0.9], axis=0)
    assert 0.7 <= np.mean((new >= lo) & (new <= hi)) <= 0.92


def test_predictions_do_not_overflow_at_the_extremes():
    """1e30 FLOP and 1e-6 minutes: float64, finite and positive; log10 scale matches the data scale."""
    rng = np.random.default_rng(0)
    x = np.logspace(18, 24, 25)
    loss = 3.0 * (x / 1e18) ** -0.05 * np.exp(0.05 * rng.normal(size=x.size))
    pf = scaling.fit_point({"x": x, "y": loss}, "power_law", x="x", y="y", num_bootstrap=50)
    for kind in ("mean", "predictive"):
        d = scaling.predict(pf, [1e30, 1e-6 * 1e18], kind=kind)
        assert d.dtype == np.float64 and np.all(np.isfinite(d)) and np.all(d > 0)
    t = np.linspace(2015.0, 2020.0, 20)
    tiny = 1e-6 * np.exp(2.0 * (t - 2015.0) + 0.1 * rng.normal(size=t.size))  # minutes, from 1e-6
    f = scaling.fit(
        {"t": t, "y": tiny},
        "exponential_trend",
        x="t",
        y="y",
        likelihood="studentt",
        num_warmup=300,
        num_samples=300,
        num_chains=2,
        seed=0,
    )
    far = scaling.predict(f, [1990.0, 2100.0], kind="predictive")
    assert far.dtype == np.float64 and np.all(np.isfinite(far)) and np.all(far > 0)
    log = scaling.predict(f, [1990.0, 2100.0], kind="predictive", scale="log10")
    np.testing.assert_allclose(
        np.median(log.values.reshape(-1, 2), 0), np.log10(np.median(far.values.reshape(-1, 2), 0)), rtol=1e-6
    )
    assert float(np.median(log.values.reshape(-1, 2)[:, 0])) < -15  # 1e-6 minutes shrinking 2 nats a year


def test_predict_warns_when_the_fit_fails_the_gate(trend_data):
    bad = scaling.fit(trend_data, "logistic_trend", x="t", y="y", num_warmup=5, num_samples=30, num_chains=2, seed=0)
    with pytest.warns(UserWarning, match="fails the diagnostics gate"):
        scaling.predict(bad, [2026.0])


def test_forecast_is_predictive_with_the_trend_beside_it(trend_data, trend_fits):
    f = fc.forecast(trend_data, x="t", y="y", fits=trend_fits, shapes=tuple(trend_fits), threshold=1e4, horizon=2032)
    assert f.stacked.shape == f.stacked_mean.shape and f.unreliable is None
    spread = np.log(f.stacked).std(axis=0)[1:] / np.log(f.stacked_mean).std(axis=0)[1:]
    assert np.all(spread > 1.0)  # the scatter widens every date's band
    assert "released" in f.crossing.question and "trend (mean curve)" in f.trend_crossing.question
    true_date = 2020.0 + 0.6 * np.log2(1e4)
    lo, hi = np.nanpercentile(f.trend_crossing.dates, [0.5, 99.5])  # one data set: a 99% interval
    assert lo <= true_date <= hi, (lo, true_date, hi)
    # a released model's crossing date carries the scatter too: its 5-95% range is at least the trend's
    width = [c.table["year"].iloc[-1] - c.table["year"].iloc[0] for c in (f.crossing, f.trend_crossing)]
    assert width[0] >= width[1], width
    assert any("predictive forecast" in a for a in f.assumptions)
    table = f.quantile_table()
    assert {"stacked_q50", "trend_q50", "exponential_trend_q50"} <= set(table)
    at = f.predict([2030.0])
    assert at.shape[1] == 1 and np.all(np.isfinite(at))


def test_forecast_and_crossing_say_unreliable_without_dates(trend_data):
    bad = {
        s: scaling.fit(trend_data, s, x="t", y="y", num_warmup=5, num_samples=30, num_chains=2, seed=0)
        for s in ("exponential_trend", "logistic_trend")
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = fc.forecast(trend_data, x="t", y="y", fits=bad, shapes=tuple(bad), threshold=1e4, horizon=2032)
    assert f.unreliable and "diagnostics gate" in f.unreliable
    assert f.assumptions[0].startswith("UNRELIABLE")
    for c in (f.crossing, f.trend_crossing):
        assert c.unreliable and c.table["year"].isna().all() and set(c.table["date"]) == {"unreliable"}
        assert "unreliable" in str(c)


def test_dates_round_trip_and_the_year_column_matches_the_date():
    dates = ["2025-08-07", "2024-02-29", "2023-12-31", "2026-01-01", "2027-07-16"]
    assert [fc.as_date(y) for y in fc.years(dates)] == dates
    grid = np.array([2027.0, 2028.0])
    c = fc.crossing(np.array([[0.0, 1.0]]), grid, 0.5372)
    row = c.table.iloc[0]
    assert row["year"] == pytest.approx(2027.54) and row["date"].startswith("2027-07")


def test_compose_is_predictive_by_default():
    rng = np.random.default_rng(0)
    x = np.logspace(20, 26, 40)
    loss = 2.0 + 10.0 * (x / 1e20) ** -0.2 * np.exp(0.03 * rng.normal(size=40))
    pf = scaling.fit_point({"c": x, "l": loss}, "power_law", x="c", y="l", num_bootstrap=100)
    compute = np.tile([1e24, 1e25, 1e30], (400, 1))
    pred, mean = fc.compose(pf, compute), fc.compose(pf, compute, kind="mean")
    assert pred.dtype == np.float64 and np.all(np.isfinite(pred))
    assert np.all(np.log(pred).std(axis=0) > np.log(mean).std(axis=0))
