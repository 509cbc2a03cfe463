"""Extrapolation backtests: scoring rules, synthetic calibration, and the ObsScaling cutoff."""

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scaling.analysis.backtesting import backtest, crps, pit, score
from scaling.cli import app
from scaling.errors import DataError

BENCHMARKS = ["mmlu", "arc_c", "hellaswag", "winogrande", "truthfulqa", "gsm8k", "xwinograd", "humaneval"]


def test_crps_matches_closed_form_for_a_normal():
    """CRPS of N(0, 1) at y: y (2 Phi(y) - 1) + 2 phi(y) - 1/sqrt(pi)."""
    from scipy.stats import norm

    draws = np.random.default_rng(0).normal(size=(20000, 1))
    for y in (0.0, 1.3):
        exact = y * (2 * norm.cdf(y) - 1) + 2 * norm.pdf(y) - 1 / np.sqrt(np.pi)
        assert crps(draws, np.array([y]))[0] == pytest.approx(exact, abs=0.01)


def test_score_coverage_of_a_calibrated_forecast():
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    s = score(rng.normal(size=(4000, 400)), y)
    assert s["coverage_50"] == pytest.approx(0.5, abs=0.07) and s["coverage_95"] == pytest.approx(0.95, abs=0.04)
    shifted = score(rng.normal(loc=3.0, size=(4000, 400)), y)
    assert shifted["coverage_95"] < 0.3 and shifted["crps"] > s["crps"]


def test_synthetic_backtest_is_calibrated_and_rolling():
    rng = np.random.default_rng(2)
    x = np.logspace(18, 24, 60)
    data = {"flop": x, "loss": (1.7 + 5 * (x / 1e18) ** -0.3) * np.exp(0.02 * rng.normal(size=x.size))}
    bt = backtest(
        data,
        "saturating_power_law",
        x="flop",
        y="loss",
        cutoffs=[1e22, 1e23],
        sampler={"num_warmup": 500, "num_samples": 500, "target_accept": 0.95},
    )
    t = bt.table
    assert list(t["cutoff"].unique()) == [1e22, 1e23] and set(t["method"]) == {"bayes", "huber", "least_squares"}
    bayes = t[t["method"] == "bayes"]
    assert (bayes["status"] != "fail").all()
    assert (bayes["coverage_95"] >= 0.8).all(), bayes
    assert (bayes["median_abs_log10_error"] < 0.02).all()  # decades (0.05 nats)
    assert (t.groupby("cutoff")["n_train"].first().diff().dropna() > 0).all()


def test_split_on_a_date_column():
    rng = np.random.default_rng(3)
    dates = pd.date_range("2019-01-01", periods=30, freq="70D")
    flop = np.logspace(21, 25, 30)
    data = pd.DataFrame(
        {
            "release_date": dates.strftime("%Y-%m-%d"),
            "flop": flop,
            "loss": 3.0 * (flop / 1e21) ** -0.05 * np.exp(0.01 * rng.normal(size=30)),
        }
    )
    bt = backtest(
        data,
        "power_law",
        x="flop",
        y="loss",
        cutoffs=2023.5,
        split_on="release_date",
        methods=["huber"],
        point_kwargs={"num_bootstrap": 50},
    )
    row = bt.table.iloc[0]
    assert row["n_train"] + row["n_test"] == 30 and row["n_test"] > 0
    assert row["n_train"] == int((dates < "2023-07-02").sum())


def test_bad_arguments():
    with pytest.raises(ValueError, match="backtest needs cutoffs="):
        backtest({"x": [1.0, 2.0], "y": [1.0, 2.0]}, "power_law", x="x", y="y")
    with pytest.raises(ValueError, match="Unknown backtest method"):
        backtest({"x": [1.0, 2.0], "y": [1.0, 2.0]}, "power_law", x="x", y="y", cutoffs=1.5, methods=["ols"])


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_obsscaling_paper_cutoff(benchmark):
    """Ruan et al.'s split: train below 8.4e22 FLOP, predict the larger models; Bayes and point fits side by side."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtest(
            "obsscaling",
            "logistic",
            x="training_flop",
            y=benchmark,
            cutoffs=8.4e22,
            likelihood="normal",
            dropna=True,
            sampler={"num_warmup": 500, "num_samples": 500},
        )
    t = bt.table.set_index("method")
    assert set(t.index) == {"bayes", "huber", "least_squares"}
    assert (t["n_train"] >= 60).all() and (t["n_test"] >= 25).all()
    for method in ("bayes", "huber"):
        assert 0.0 <= t.loc[method, "coverage_95"] <= 1.0 and np.isfinite(t.loc[method, "crps"])
    assert t.loc["bayes", "crps"] < 0.25


def test_cli_backtest(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "backtest",
            "obsscaling",
            "--law",
            "logistic",
            "--x",
            "training_flop",
            "--y",
            "mmlu",
            "--cutoff",
            "8.4e22",
            "--likelihood",
            "normal",
            "--dropna",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "coverage_95" in result.output and "least_squares" in result.output
    assert (tmp_path / "backtest.csv").exists()


def _date_series(seed=4, n=24):
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2019-01-01", periods=n, freq="90D")
    t = 2019.0 + np.arange(n) * 90 / 365.25
    return pd.DataFrame({"release_date": dates, "minutes": np.exp(1.2 * (t - 2019.0) + 0.3 * rng.normal(size=n))})


def test_least_squares_works_on_an_exponential_trend():
    """curve_fit with the law's JAX Jacobian: finite covariance, calibrated-looking intervals."""
    bt = backtest(
        _date_series(),
        "exponential_trend",
        x="release_date",
        y="minutes",
        cutoffs=2023.0,
        split_on="release_date",
        methods=["least_squares"],
    )
    row = bt.table.iloc[0]
    assert row["status"] == "pass", bt.notes
    assert np.isfinite(row["crps"]) and row["coverage_95"] >= 0.5


def test_crps_is_in_log10_units_for_positive_laws():
    """Rescaling y (minutes -> milliseconds) leaves log10 CRPS and coverage unchanged."""
    df = _date_series()
    kw = dict(
        x="release_date",
        split_on="release_date",
        cutoffs=2023.0,
        methods=["huber"],
        point_kwargs={"num_bootstrap": 100},
    )
    a = backtest(df, "exponential_trend", y="minutes", **kw).table.iloc[0]
    b = backtest(df.assign(ms=df["minutes"] * 6e4), "exponential_trend", y="ms", **kw).table.iloc[0]
    assert a["crps"] == pytest.approx(b["crps"], rel=0.02) and a["coverage_80"] == b["coverage_80"]
    assert 0.0 < a["crps"] < 1.0  # decades, not minutes


def test_date_cutoffs_print_as_dates():
    bt = backtest(
        _date_series(),
        "exponential_trend",
        x="release_date",
        y="minutes",
        cutoffs=[2022.5, 2023.0],
        split_on="release_date",
        methods=["huber"],
        point_kwargs={"num_bootstrap": 50},
    )
    text = str(bt)
    assert "2022-07-02" in text and "2023-01-01" in text and "e+03" not in text


def test_scores_never_drop_nan_draws():
    draws = np.ones((100, 3))
    draws[5, 1] = np.nan
    with pytest.raises(DataError, match="NaN"):
        score(draws, np.ones(3))
    with pytest.raises(DataError, match="positive"):
        score(-np.ones((10, 2)), np.ones(2), log10=True)
    inf = np.vstack([np.ones((99, 1)), [[np.inf]]])
    assert score(inf, np.array([1.0]))["coverage_95"] == 1.0  # an infinite draw is ordered, not dropped


def test_pit_is_uniform_for_a_calibrated_forecast():
    rng = np.random.default_rng(5)
    p = pit(rng.normal(size=(2000, 500)), rng.normal(size=500))
    counts = np.histogram(p, bins=5, range=(0, 1))[0]
    assert counts.min() > 70 and counts.max() < 130
