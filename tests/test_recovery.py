"""Parameter recovery: simulate from known parameters (papers' units), fit with NUTS,
and require the truth inside the 94% interval, R-hat < 1.01 and no divergences."""

import arviz as az
import numpy as np
import pytest

import scaling

LN10 = np.log(10.0)


def power_law(rng):
    x = np.logspace(18, 24, 30)
    truth = {"log_A": 14.0, "alpha": 0.3, "sigma": 0.05}
    y = np.exp(truth["log_A"] - truth["alpha"] * np.log(x) + truth["sigma"] * rng.normal(size=x.size))
    return {"x": x, "y": y}, truth, {}


def saturating_power_law(rng):
    x = np.logspace(17, 23, 40)
    truth = {"E": 1.7, "log_A": 14.7, "alpha": 0.35, "sigma": 0.02}
    mu = truth["E"] + np.exp(truth["log_A"] - truth["alpha"] * np.log(x))
    return {"x": x, "y": mu * np.exp(truth["sigma"] * rng.normal(size=x.size))}, truth, {}


def chinchilla(rng):
    n = 10 ** rng.uniform(7.5, 10.5, 80)
    d = 10 ** rng.uniform(9.0, 12.0, 80)
    truth = {"E": 1.69, "a": np.log(406.4), "b": np.log(410.7), "alpha": 0.34, "beta": 0.28, "sigma": 0.02}
    mu = truth["E"] + np.exp(truth["a"] - truth["alpha"] * np.log(n)) + np.exp(truth["b"] - truth["beta"] * np.log(d))
    # five strongly correlated parameters: after 500 warm-up steps R-hat sits near 1.01 (1.011 here)
    return {"n": n, "d": d, "y": mu * np.exp(truth["sigma"] * rng.normal(size=n.size))}, truth, {"num_warmup": 1000}


def broken_power_law(rng):
    x = np.logspace(18, 24, 60)
    truth = {
        "E": 0.05,
        "log_b": 5.75,
        "alpha": 0.1,
        "delta_alpha": 0.5,
        "log10_x_break": 21.0,
        "f1": 0.3 * LN10,
        "sigma": 0.02,
    }
    u = np.log10(x)
    w = truth["f1"] / LN10
    lp = (
        truth["log_b"]
        - truth["alpha"] * np.log(x)
        - truth["delta_alpha"] * LN10 * w * np.logaddexp(0, (u - truth["log10_x_break"]) / w)
    )
    mu = truth["E"] + np.exp(lp)
    return {"x": x, "y": mu * np.exp(truth["sigma"] * rng.normal(size=x.size))}, truth, {"target_accept": 0.95}


def logistic(rng):
    x = np.logspace(20, 25, 40)
    truth = {"ceiling": 0.85, "slope": 1.5, "log10_x_mid": 22.5}
    mu = 0.25 + (truth["ceiling"] - 0.25) / (1 + np.exp(-truth["slope"] * (np.log10(x) - truth["log10_x_mid"])))
    phi = 200.0
    return {"x": x, "y": rng.beta(mu * phi, (1 - mu) * phi)}, truth | {"phi": phi}, {"law_options": {"floor": 0.25}}


def logistic_binomial(rng):
    x = np.logspace(20, 25, 30)
    truth = {"floor": 0.2, "ceiling": 0.9, "slope": 2.0, "log10_x_mid": 22.0}
    mu = truth["floor"] + (truth["ceiling"] - truth["floor"]) / (
        1 + np.exp(-truth["slope"] * (np.log10(x) - truth["log10_x_mid"]))
    )
    n = np.full(x.size, 500)
    return {"x": x, "y": rng.binomial(n, mu) / n, "items": n}, truth, {"likelihood": "binomial", "trials": "items"}


# the trend laws' default likelihood is Student-t; these cases draw Gaussian noise on log y
LOGNORMAL = {"likelihood": "lognormal"}


def exponential_trend(rng):
    t = np.sort(rng.uniform(2019.0, 2025.5, 30))
    g = 365.25 * np.log(2) / 210.0
    sigma = 0.3
    y = 5.0 * np.exp(g * (t - 2022.0) + sigma * rng.normal(size=t.size))
    truth = {
        "doubling_time_days": 210.0,
        "growth": g,
        "y_at_center": 5.0 * np.exp(g * (t.mean() - 2022.0)),
        "sigma": sigma,
    }
    return {"t": t, "y": y}, truth, LOGNORMAL


def quadratic_trend(rng):
    t = np.sort(rng.uniform(2015.0, 2025.0, 60))
    c = t.mean()
    truth = {"growth": 1.0, "curvature": 0.15, "sigma": 0.2}
    y = 3.0 * np.exp(
        truth["growth"] * (t - c) + 0.5 * truth["curvature"] * (t - c) ** 2 + 0.2 * rng.normal(size=t.size)
    )
    truth["y_at_center"] = 3.0
    return {"t": t, "y": y}, truth, LOGNORMAL


def logistic_trend(rng):
    t = np.sort(rng.uniform(2012.0, 2026.0, 50))
    truth = {"ceiling": 200.0, "knee_year": 2021.0, "growth": 1.2, "sigma": 0.1}
    log_mu = np.log(truth["ceiling"]) - np.logaddexp(0.0, truth["growth"] * (truth["knee_year"] - t))
    return {"t": t, "y": np.exp(log_mu + 0.1 * rng.normal(size=t.size))}, truth, LOGNORMAL


def exponential_trend_studentt(rng):
    """The trend laws' default likelihood: log y ~ StudentT(nu, log mu, sigma), here nu = 4."""
    t = np.sort(rng.uniform(2016.0, 2025.0, 50))
    truth = {"growth": 0.8, "sigma": 0.25}
    y = 2.0 * np.exp(truth["growth"] * (t - t.mean()) + truth["sigma"] * rng.standard_t(4.0, size=t.size))
    truth["y_at_center"] = 2.0
    return {"t": t, "y": y}, truth, {}


CASES = {
    "power_law": (power_law, "power_law"),
    "saturating_power_law": (saturating_power_law, "saturating_power_law"),
    "chinchilla": (chinchilla, "chinchilla"),
    "broken_power_law": (broken_power_law, "broken_power_law"),
    "logistic": (logistic, "logistic"),
    "logistic_binomial": (logistic_binomial, "logistic"),
    "exponential_trend": (exponential_trend, "exponential_trend"),
    "quadratic_trend": (quadratic_trend, "quadratic_trend"),
    "logistic_trend": (logistic_trend, "logistic_trend"),
    "exponential_trend_studentt": (exponential_trend_studentt, "exponential_trend"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_recovery(case):
    make, law = CASES[case]
    data, truth, kwargs = make(np.random.default_rng(1))
    xs = [k for k in data if k not in ("y", "items")]
    settings = {"num_warmup": 500, "num_samples": 500, "num_chains": 4, "seed": 2} | kwargs
    dt = scaling.fit(data, law, x=xs, y="y", **settings)
    post = dt.posterior
    for name, value in truth.items():
        lo, hi = np.quantile(post[name].values, [0.03, 0.97])
        assert lo <= value <= hi, f"{case}: {name}={value:.4g} outside 94% interval [{lo:.4g}, {hi:.4g}]"
    rhat = az.rhat(dt)
    worst = max(float(rhat[v].max()) for v in rhat.data_vars)
    assert worst < 1.01, f"{case}: max R-hat {worst:.4f}"
    assert int(dt.sample_stats["diverging"].sum()) == 0
    # posterior predictive: the observed points sit inside their 94% predictive intervals about as often
    y = dt.observed_data["y"].values
    lo, hi = np.quantile(dt.posterior_predictive["y"].values.reshape(-1, y.size), [0.03, 0.97], axis=0)
    inside = np.mean((lo <= y) & (y <= hi))
    assert inside >= 0.8, f"{case}: only {inside:.0%} of points inside their 94% predictive interval"
