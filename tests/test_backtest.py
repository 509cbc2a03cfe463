"""Extrapolation backtests: scoring rules, synthetic calibration, and the ObsScaling cutoff."""

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scaling.analysis.backtesting import backtest, crps, score
from scaling.cli import app

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
        data, "saturating_power_law", x="flop", y="loss", cutoffs=[1e22, 1e23], fit_kwargs={"target_accept": 0.95}
    )
    t = bt.table
    assert list(t["cutoff"].unique()) == [1e22, 1e23] and set(t["method"]) == {"bayes", "huber", "least_squares"}
    bayes = t[t["method"] == "bayes"]
    assert (bayes["status"] != "fail").all()
    assert (bayes["coverage_95"] >= 0.8).all(), bayes
    assert (bayes["median_abs_log_error"] < 0.05).all()
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
        cutoff=2023.5,
        split_on="release_date",
        methods=["huber"],
        point_kwargs={"n_bootstrap": 50},
    )
    row = bt.table.iloc[0]
    assert row["n_train"] + row["n_test"] == 30 and row["n_test"] > 0
    assert row["n_train"] == int((dates < "2023-07-02").sum())


def test_bad_arguments():
    with pytest.raises(ValueError, match="exactly one of cutoff"):
        backtest({"x": [1.0, 2.0], "y": [1.0, 2.0]}, "power_law", x="x", y="y")
    with pytest.raises(ValueError, match="Unknown backtest method"):
        backtest({"x": [1.0, 2.0], "y": [1.0, 2.0]}, "power_law", x="x", y="y", cutoff=1.5, methods=["ols"])


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
            cutoff=8.4e22,
            likelihood="normal",
            dropna=True,
            fit_kwargs={"num_warmup": 500, "num_samples": 500},
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
