"""Has progress accelerated? The broken exponential trend against segmented least squares."""

import numpy as np
import pytest

import scaling
from scaling.analysis.acceleration import accelerated
from scaling.analysis.forecasting import years


def _ols_break(t: np.ndarray, log_y: np.ndarray, min_side: int = 3) -> tuple[float, float, float]:
    """Segmented regression ``log y = a + g1 (t - b) + (g2 - g1) max(t - b, 0)`` with the break
    ``b`` chosen by grid search (least RSS over 400 dates between the ``min_side``-th points from
    each end), as Epoch AI fits breaks in its capabilities index. Returns ``(b, g1, g2)``."""
    ts = np.sort(t)
    best = (np.inf, None)
    for b in np.linspace(ts[min_side - 1], ts[-min_side], 400):
        X = np.column_stack([np.ones_like(t), t - b, np.maximum(t - b, 0.0)])
        coef, *_ = np.linalg.lstsq(X, log_y, rcond=None)
        rss = float(np.sum((log_y - X @ coef) ** 2))
        if rss < best[0]:
            best = (rss, (float(b), float(coef[1]), float(coef[1] + coef[2])))
    return best[1]


@pytest.fixture(scope="module")
def synthetic():
    """Doubling every 1.0 year until 2021.0, then every 0.4 years; 0.15 nats scatter."""
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(2016.0, 2025.0, 40))
    g1, g2 = np.log(2), np.log(2) / 0.4
    log_y = g1 * (t - 2021.0) + (g2 - g1) * np.maximum(t - 2021.0, 0) + 0.15 * rng.normal(size=t.size)
    fit = scaling.fit(
        {"t": t, "y": np.exp(log_y)},
        "broken_exponential_trend",
        x="t",
        y="y",
        num_warmup=500,
        num_samples=500,
        num_chains=2,
        seed=0,
        target_accept=0.99,
    )
    return t, log_y, fit


def test_recovers_the_break_and_says_accelerated(synthetic):
    t, log_y, fit = synthetic
    v = accelerated(fit)
    assert v.category == "accelerated", v.text
    assert v.break_year[0] <= 2021.0 <= v.break_year[2]
    lo, hi = np.percentile(fit.posterior["doubling_after_days"].values.ravel(), [2.5, 97.5])
    assert lo <= 0.4 * 365.25 <= hi


def test_agrees_with_grid_searched_least_squares(synthetic):
    t, log_y, fit = synthetic
    b, g1, g2 = _ols_break(t, log_y)
    post = fit.posterior
    for name, value in (("break_year", b), ("growth_before", g1), ("growth_after", g2)):
        lo, hi = np.percentile(post[name].values.ravel(), [2.5, 97.5])
        assert lo <= value <= hi, (name, value, lo, hi)


def test_metr_frontier_break_agrees_with_least_squares():
    th = scaling.datasets.load("time_horizons")
    fr = th[th["frontier"] == 1]
    fit = scaling.fit(
        fr,
        "broken_exponential_trend",
        x="release_date",
        y="p50_minutes",
        num_warmup=1000,
        num_samples=3000,
        num_chains=4,
        seed=0,
        target_accept=0.99,
    )
    t = years(list(fr["release_date"]))
    b, g1, g2 = _ols_break(t, np.log(fr["p50_minutes"].to_numpy(dtype=float)))
    v = accelerated(fit)
    if v.category == "unreliable":
        pytest.fail(v.text)
    post = fit.posterior
    for name, value in (("break_year", b), ("growth_before", g1), ("growth_after", g2)):
        lo, hi = np.percentile(post[name].values.ravel(), [5, 95])
        assert lo <= value <= hi, (name, value, lo, hi)


def test_refuses_other_laws_and_gates():
    rng = np.random.default_rng(0)
    t = np.linspace(2015.0, 2024.0, 20)
    y = np.exp(0.7 * (t - 2015.0) + 0.1 * rng.normal(size=t.size))
    bad = scaling.fit(
        {"t": t, "y": y}, "broken_exponential_trend", x="t", y="y", num_warmup=5, num_samples=20, num_chains=2, seed=0
    )
    assert accelerated(bad).category == "unreliable" and "no verdict" in accelerated(bad).text
    other = scaling.fit_point({"t": t, "y": y}, "exponential_trend", x="t", y="y", num_bootstrap=10)
    with pytest.raises(ValueError, match="broken_exponential_trend"):
        accelerated(other)
