"""Are returns diminishing? Verdict accuracy on synthetic truth, the gate, Chinchilla's frontier."""

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

import scaling
from scaling.analysis.diminishing import marginal_returns, returns
from scaling.cli import app

WRONG = {"constant": {"diminishing", "accelerating"}, "diminishing": {"constant", "accelerating"}}
TRUTH = {"constant": lambda x: 5 * (x / 1e18) ** -0.1, "diminishing": lambda x: 1.7 + 5 * (x / 1e18) ** -0.3}


def verdicts(truth: str, x: np.ndarray, noise: float, seeds: int) -> list[str]:
    data = {
        f"s{s}": {"x": x, "y": TRUTH[truth](x) * np.exp(noise * np.random.default_rng(s).normal(size=x.size))}
        for s in range(seeds)
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flexible = scaling.fit_many(data, "saturating_power_law", x="x", y="y", target_accept=0.95, seed=1)
        constant = scaling.fit_many(data, "power_law", x="x", y="y", seed=1)
        return [
            returns(scaling.select_problem(flexible, s), baseline=scaling.select_problem(constant, s))[1].category
            for s in data
        ]


@pytest.mark.parametrize("truth", ["constant", "diminishing"])
def test_verdict_right_in_9_of_10_seeds(truth):
    got = verdicts(truth, np.logspace(18, 24, 30), 0.02, 10)
    assert got.count(truth) >= 9, got
    assert not WRONG[truth] & set(got), got


@pytest.mark.parametrize("truth", ["constant", "diminishing"])
def test_too_few_noisy_points_give_no_wrong_verdict(truth):
    got = verdicts(truth, np.logspace(18, 20, 8), 0.15, 6)
    assert not WRONG[truth] & set(got), got
    assert {"inconclusive", "unreliable"} & set(got), got


def test_bad_fit_gets_no_verdict():
    x = np.logspace(18, 24, 30)
    bad = scaling.fit(
        {"x": x, "y": TRUTH["diminishing"](x)},
        "saturating_power_law",
        x="x",
        y="y",
        num_warmup=10,
        num_samples=200,
        seed=0,
    )
    dt, v = returns(bad)
    assert v.category == "unreliable" and v.text.startswith("unreliable: ")
    assert v.p_diminishing is None and "derived" not in dt.children


@pytest.fixture(scope="module")
def power_fit():
    rng = np.random.default_rng(0)
    x = np.logspace(18, 24, 30)
    return scaling.fit(
        {"x": x, "y": 5 * (x / 1e18) ** -0.1 * np.exp(0.02 * rng.normal(size=30))}, "power_law", x="x", y="y", seed=0
    )


def test_derivatives_match_the_analytic_ones(power_fit):
    """For y = A x^-alpha: elasticity = -alpha and dy/dlog10 x = -alpha ln(10) y, draw by draw."""
    dt = marginal_returns(power_fit, grid=[1e19, 1e21, 1e23])
    der, alpha = dt["derived"], power_fit.posterior["alpha"]
    assert der["elasticity"].dims == ("chain", "draw", "grid")
    np.testing.assert_allclose(
        der["elasticity"].values, -np.broadcast_to(alpha.values[..., None], (4, 1000, 3)), rtol=1e-4
    )
    np.testing.assert_allclose(
        der["marginal_return"].values, -alpha.values[..., None] * np.log(10) * der["mu"].values, rtol=1e-4
    )
    np.testing.assert_allclose(der["x"].values, [1e19, 1e21, 1e23])


def test_constant_by_construction_law_is_inconclusive(power_fit):
    _, v = returns(power_fit)
    assert v.category == "inconclusive" and "by construction" in v.text


def test_chinchilla_frontier_elasticity(chinchilla_df):
    """Along the compute-optimal frontier, reducible loss ~ C^(-alpha beta / (alpha + beta))."""
    x = ["params_N", "tokens_D"]
    fit = scaling.fit(chinchilla_df, "chinchilla", x=x, y="loss", seed=0)
    dt, v = returns(fit)
    post = fit.posterior
    expected = post["alpha"] * post["beta"] / (post["alpha"] + post["beta"])
    e = dt["derived"]["elasticity_reducible"]
    np.testing.assert_allclose(-e.values, np.broadcast_to(expected.values[..., None], e.shape), rtol=1e-4)
    assert v.category == "diminishing" and "compute-optimal frontier" in v.text
    boot = scaling.fit_point(
        chinchilla_df,
        "chinchilla",
        x=x,
        y="loss",
        n_bootstrap=400,
        bootstrap_starts=2,
        init={"E": 1.69, "a": np.log(406.4), "b": np.log(410.7), "alpha": 0.34, "beta": 0.28},
        init_space="physical",
    )
    eb = -marginal_returns(boot)["derived"]["elasticity_reducible"].isel(grid=0).values
    assert abs(float(np.median(eb)) - 0.178) < 2 * float(np.std(eb)) and abs(float(np.median(eb)) - 0.178) < 0.01


def test_cli_returns(power_fit, tmp_path):
    rng = np.random.default_rng(3)
    x = np.logspace(18, 24, 30)
    data = {"x": x, "y": TRUTH["diminishing"](x) * np.exp(0.02 * rng.normal(size=30))}
    flexible = scaling.fit(data, "saturating_power_law", x="x", y="y", target_accept=0.95, seed=0)
    base = scaling.fit(data, "power_law", x="x", y="y", seed=0)
    scaling.save(flexible, tmp_path / "f.nc")
    scaling.save(base, tmp_path / "b.nc")
    result = CliRunner().invoke(
        app,
        [
            "returns",
            str(tmp_path / "f.nc"),
            "--baseline",
            str(tmp_path / "b.nc"),
            "--out",
            str(tmp_path / "with_returns.nc"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("diminishing") and "elasticity" in result.output
    assert "derived" in scaling.load(tmp_path / "with_returns.nc").children
