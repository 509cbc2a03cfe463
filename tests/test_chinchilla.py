"""Reproduce Besiroglu et al. (2024), Epoch's Chinchilla replication, on the shared points.

Published optimum (Huber delta = 1e-3 on log loss, L-BFGS over Hoffmann's grid, 240 points):
alpha = 0.3473, beta = 0.3672, E = 1.817, summed objective 0.0010183;
bootstrap 95% interval for alpha: (0.317, 0.373).
"""

import numpy as np
import pytest

import scaling
from scaling.infer.point import hoffmann_grid

X = ["params_N", "tokens_D"]
HOFFMANN = {"E": 1.69, "a": np.log(406.4), "b": np.log(410.7), "alpha": 0.34, "beta": 0.28}


def check_epoch_optimum(best):
    assert float(best["alpha"]) == pytest.approx(0.3473, abs=0.002)
    assert float(best["beta"]) == pytest.approx(0.3672, abs=0.003)
    assert float(best["E"]) == pytest.approx(1.817, abs=0.005)
    assert float(best["loss"]) == pytest.approx(0.0010183, abs=1e-6)


@pytest.fixture(scope="module")
def grid_fit(chinchilla_df):
    return scaling.fit_point(chinchilla_df, "chinchilla", x=X, y="loss", init=hoffmann_grid(), init_space="physical")


def test_point_fit_on_hoffmann_grid_reaches_epoch_optimum(grid_fit):
    assert grid_fit.attrs["kind"] == "point"
    assert int(grid_fit["constant_data"]["n_points"]) == 240
    check_epoch_optimum(grid_fit["point_estimate"])
    assert float(grid_fit["fit_stats"]["grad_norm"][0]) < 1e-6


def test_point_fit_from_hoffmann_published_values(chinchilla_df):
    """Hoffmann's own estimate was an optimiser stopping early; from there we still reach the optimum."""
    dt = scaling.fit_point(chinchilla_df, "chinchilla", x=X, y="loss", init=HOFFMANN, init_space="physical")
    check_epoch_optimum(dt["point_estimate"])


def test_point_fit_device_auto_by_problem_size(chinchilla_df, grid_fit, monkeypatch):
    """With a GPU as JAX's default backend, device='auto' solves a small fit (32 polished starts x 30
    points) on the CPU and Hoffmann's grid on the Chinchilla points (32 x 240) on the accelerator.
    The choices are recorded and both then run on this machine's CPU: the same optima."""
    import jax

    from scaling.infer import point

    x = np.logspace(18, 23, 30)
    d = {"flop": x, "loss": 3.0 * (x / 1e18) ** -0.1}
    here = scaling.fit_point(d, "power_law", x="flop", y="loss")
    chosen = []

    def record(n_runs, device, **kw):
        chosen.append(real(n_runs, device, **kw))
        return "cpu"

    real = point.platform
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(point, "platform", record)
    beside = scaling.fit_point(d, "power_law", x="flop", y="loss")
    assert chosen[-1] == "cpu" and float(beside["point_estimate"]["alpha"]) == float(here["point_estimate"]["alpha"])
    assert abs(float(here["point_estimate"]["alpha"]) - 0.1) < 1e-6
    dt = scaling.fit_point(chinchilla_df, "chinchilla", x=X, y="loss", init=hoffmann_grid(), init_space="physical")
    assert chosen[-1] == "gpu"
    for k in ("alpha", "beta", "E", "loss"):  # grid_fit ran where 'auto' put it: on a GPU, other rounding
        assert float(dt["point_estimate"][k]) == pytest.approx(float(grid_fit["point_estimate"][k]), rel=1e-6)
    monkeypatch.setattr(point, "platform", real)
    with pytest.raises(ValueError, match="The 'device' parameter of fit_point must be one of"):
        scaling.fit_point(chinchilla_df, "chinchilla", x=X, y="loss", device="tpu")
    with pytest.raises(ValueError, match="The 'slots' parameter of fit_point must be an int in the range"):
        scaling.fit_point(chinchilla_df, "chinchilla", x=X, y="loss", slots=0)


def test_bootstrap_interval_matches_published(chinchilla_df):
    dt = scaling.fit_point(
        chinchilla_df,
        "chinchilla",
        x=X,
        y="loss",
        init=HOFFMANN,
        init_space="physical",
        num_bootstrap=1000,
        bootstrap_starts=2,
        seed=0,
    )
    alpha = dt["posterior"]["alpha"].values
    assert alpha.shape == (1000,)
    lo, hi = np.percentile(alpha, [2.5, 97.5])
    assert lo == pytest.approx(0.317, abs=0.01) and hi == pytest.approx(0.373, abs=0.01), (lo, hi)
    assert np.mean(dt["fit_stats"]["grad_norm"].values < 1e-6) > 0.99
    table = scaling.summary(dt, var_names=["alpha", "beta", "E"])
    assert table.loc["alpha", "mean"] == pytest.approx(0.347, abs=0.01)


def test_bayesian_fit_alpha(chinchilla_df):
    dt = scaling.fit(chinchilla_df, "chinchilla", x=X, y="loss", num_warmup=500, num_samples=500, num_chains=2, seed=0)
    assert float(dt.posterior["alpha"].mean()) == pytest.approx(0.348, abs=0.02)
    assert int(dt.sample_stats["diverging"].sum()) == 0


def test_exclusion_flag_matters(chinchilla_csv):
    """All 245 points (the 5 outliers kept) give a different optimum: the filter is doing work."""
    dt = scaling.fit_point(chinchilla_csv, "chinchilla", x=X, y="loss", init=HOFFMANN, init_space="physical")
    assert abs(float(dt["point_estimate"]["loss"]) - 0.0010183) > 1e-4
    dt = scaling.fit_point(
        chinchilla_csv,
        "chinchilla",
        x=X,
        y="loss",
        init=HOFFMANN,
        init_space="physical",
        where="besiroglu_excluded == 0",
    )
    check_epoch_optimum(dt["point_estimate"])
