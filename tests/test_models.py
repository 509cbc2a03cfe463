"""Models as rich as the data: known measurement error, censoring, partial pooling, effective compute.

Each feature: recovery of known truth on synthetic data, a check of its behaviour on the shared
real data, and the frozen Model's spec round trip. Fits are small (2 chains x 300 draws) and
shared through module-scoped fixtures.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import scaling
from scaling.errors import DataError, ScalingError, SpecError
from scaling.models.model import model_from_spec, resolve

NUTS = {"num_warmup": 300, "num_samples": 300, "num_chains": 2}
# Recovery checks use central 98% intervals: with ~10 of them in this file, 90% intervals would miss one by chance.


def q(dt, name, p):
    return float(np.quantile(dt.posterior[name].values, p))


# ------------------------------------------------------------------ the frozen Model
def test_structure_is_part_of_the_frozen_model_and_round_trips():
    m = resolve("power_law", pooled={"log_y0": {"dist": "HalfNormal", "scale": 0.3}}, measurement_error=True)
    assert m == model_from_spec(json.loads(json.dumps(m.spec())))
    assert hash(m) == hash(model_from_spec(m.spec()))
    assert m != resolve("power_law", pooled=("log_y0",), measurement_error=True)  # another scale prior
    assert m.param_names == ("log_y0", "alpha", "log_y0_sd", "sigma")
    assert set(m.group_names) == {"log_y0_z", "log_y0_group", "log_A_group"}
    eff = resolve("logistic", "binomial", law_options={"floor": 0.25, "effective_compute": True}, censored=True)
    assert eff == model_from_spec(eff.spec())
    assert [i.name for i in eff.law.inputs] == ["x", "t"] and "g" in eff.law.param_names
    assert "algorithmic_progress_per_year" in eff.law.physical_names
    assert set(resolve("power_law").spec()) == {"law", "likelihood"}  # specs without structure are unchanged


def test_structure_refuses_what_it_cannot_mean():
    with pytest.raises(ScalingError, match="unbounded prior"):
        resolve("saturating_power_law", pooled=("e_frac",))
    with pytest.raises(ScalingError, match="not a parameter"):
        resolve("power_law", pooled=("log_A",))
    with pytest.raises(ScalingError, match="'binomial' already counts"):
        resolve("logistic", "binomial", measurement_error=True)
    with pytest.raises(ScalingError, match="CDF"):
        resolve("logistic", "beta", censored=True)
    with pytest.raises(ValueError, match="compute input 'x'"):
        resolve("chinchilla", law_options={"effective_compute": True})
    df = pd.DataFrame({"c": np.logspace(18, 21, 8), "y": np.linspace(3, 2, 8), "f": list("aabbccdd")})
    with pytest.raises(DataError, match="no group= column"):
        scaling.fit(df, resolve("power_law", pooled=("log_y0",)), x="c", y="y")
    with pytest.raises(DataError, match="no parameter is pooled"):
        scaling.fit(df, "power_law", x="c", y="y", group="f")
    with pytest.raises(DataError, match="needs date="):
        scaling.fit(df, "power_law", x="c", y="y", law_options={"effective_compute": True})
    bad = df.assign(cens=["none", "above", "below", "sideways", "", "none", "none", "none"])
    with pytest.raises(DataError, match=r"row 3, column 'cens'.*'sideways'"):
        scaling.fit(bad, "power_law", x="c", y="y", censored="cens")
    with pytest.raises(DataError, match=r"column 'lo'.*lower bound at or below y"):
        scaling.fit(df.assign(lo=df.y * 2, hi=df.y * 3), "power_law", x="c", y="y", y_low="lo", y_high="hi")


# ------------------------------------------------------------------ 1. known measurement error
@pytest.fixture(scope="module")
def noisy_trend():
    """An exponential trend (growth 0.9 / year, scatter 0.1) whose 4 points with large known errors are
    off by 1.5 (up late, down early). 16 points, as METR's frontier: the two share compiled programs."""
    rng = np.random.default_rng(3)
    t = np.linspace(2019, 2025, 16)
    err = np.full(16, 0.02)
    off = np.array([1, 5, 10, 14])
    err[off] = 1.5
    log_y = 0.9 * (t - 2022) + rng.normal(0, np.sqrt(0.1**2 + err**2))
    log_y[off] = 0.9 * (t[off] - 2022) + 1.5 * np.sign(t[off] - 2020.5)
    return pd.DataFrame({"t": t, "y": np.exp(log_y), "se": err})


@pytest.fixture(scope="module")
def noisy_fits(noisy_trend):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = scaling.fit(noisy_trend, "exponential_trend", x="t", y="y", **NUTS)
        known = scaling.fit(noisy_trend, "exponential_trend", x="t", y="y", y_err="se", **NUTS)
    return plain, known


def test_measurement_error_recovers_truth_and_downweights_uncertain_points(noisy_fits):
    plain, known = noisy_fits
    assert q(known, "growth", 0.01) < 0.9 < q(known, "growth", 0.99)
    assert q(known, "sigma", 0.01) < 0.1 < q(known, "sigma", 0.99)
    # the four uncertain points pull the plain fit's slope and inflate its scatter
    assert abs(float(known.posterior["growth"].median()) - 0.9) < abs(float(plain.posterior["growth"].median()) - 0.9)
    assert float(plain.posterior["sigma"].median()) > 3 * float(known.posterior["sigma"].median())
    np.testing.assert_allclose(known["constant_data"]["y_err"].values, noisy_fits[1]["constant_data"]["y_err"].values)
    assert json.loads(known.attrs["spec"])["measurement_error"] is True


@pytest.fixture(scope="module")
def metr_fits():
    kw = {"x": "release_date", "y": "p50_minutes", "where": "frontier == 1", **NUTS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = scaling.fit("time_horizons", "exponential_trend", **kw)
        known = scaling.fit("time_horizons", "exponential_trend", y_low="p50_ci_low", y_high="p50_ci_high", **kw)
    return plain, known


def test_metr_doubling_time_with_and_without_its_published_intervals(metr_fits):
    """METR (2025): frontier horizons double every ~7 months (212 days; 95% CI 171-249) since 2019."""
    plain, known = metr_fits
    for dt in metr_fits:
        assert 150 < float(dt.posterior["doubling_time_days"].median()) < 260
    # the published 95% intervals (a factor 2-4 wide) explain most of the scatter about the trend ...
    assert float(known.posterior["sigma"].median()) < 0.6 * float(plain.posterior["sigma"].median())

    # ... and the doubling time is not made more certain than without them
    def width(dt):
        return q(dt, "doubling_time_days", 0.95) - q(dt, "doubling_time_days", 0.05)

    assert width(known) > 0.8 * width(plain)
    err = known["constant_data"]["y_err"].values
    assert np.all(err > 0.1) and np.all(err < 2.0)  # sd of ln(horizon) from 95% intervals 1.5x-50x wide


# ------------------------------------------------------------------ 4. censoring
def test_censored_log_probabilities_are_the_cdf_beyond_the_bound():
    import jax.numpy as jnp
    from scipy import stats

    from scaling.models.laws import get_law
    from scaling.models.likelihoods import get_likelihood

    code = jnp.array([-1.0, 1.0, 0.0])
    binom = get_likelihood("binomial").dist(
        get_law("logistic", floor=0.0), jnp.full(3, 0.3), {}, 1.0, jnp.full(3, 20.0), censor=code
    )
    expected = [stats.binom.logcdf(5, 20, 0.3), stats.binom.logsf(4, 20, 0.3), stats.binom.logpmf(5, 20, 0.3)]
    np.testing.assert_allclose(binom.log_prob(jnp.full(3, 5.0)), expected, rtol=1e-4)
    # lognormal with known errors: sd = sqrt(sigma^2 + s^2) = 0.5 for sigma = 0.4, s = 0.3
    y, mu = 2.0, 1.5
    logn = get_likelihood("lognormal").dist(
        get_law("power_law"), jnp.full(3, np.log(mu)), {"sigma": 0.4}, 1.0, y_err=jnp.full(3, 0.3), censor=code
    )
    z = (np.log(y) - np.log(mu)) / 0.5
    expected = [stats.norm.logcdf(z), stats.norm.logsf(z), stats.lognorm.logpdf(y, 0.5, scale=mu)]
    np.testing.assert_allclose(logn.log_prob(jnp.full(3, y)), expected, rtol=1e-4)


def test_censored_ceiling_recovers_the_slope_that_clipping_biases():
    rng = np.random.default_rng(5)
    c = np.logspace(19, 23, 40)
    y = np.exp(1.0 + 0.3 * np.log(10) * (np.log10(c) - 21) + rng.normal(0, 0.1, 40))
    ceiling = np.exp(1.4)
    df = pd.DataFrame({"c": c, "y": np.minimum(y, ceiling), "cens": np.where(y >= ceiling, "above", "none")})
    assert (df.cens == "above").sum() > 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cens = scaling.fit(df, "power_law", x="c", y="y", censored="cens", **NUTS)
    # power_law's alpha is minus the log-log slope; least squares on the clipped values flattens it
    assert q(cens, "alpha", 0.01) < -0.3 < q(cens, "alpha", 0.99)
    naive = np.polyfit(np.log10(c), np.log10(df["y"]), 1)[0]
    assert naive < 0.25 and naive < -q(cens, "alpha", 0.99)  # below the censored fit's 98% interval
    ll = cens["log_likelihood"]["y"].values
    assert np.all(ll[..., (df.cens == "above").to_numpy()] <= 0)  # log probabilities, not densities


def test_binomial_takes_scores_of_zero_and_one_and_beta_points_at_it():
    rng = np.random.default_rng(2)
    c = np.logspace(19, 24, 16)
    k = rng.binomial(50, 1 / (1 + np.exp(-2.0 * (np.log10(c) - 21.5))))
    assert (k == 0).sum() >= 2 and (k == 50).sum() >= 2
    df = pd.DataFrame({"c": c, "acc": k / 50, "n": 50})
    with pytest.raises(DataError, match="use 'binomial' with trials=.*censored="):
        scaling.fit(df, "logistic", x="c", y="acc", **NUTS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = scaling.fit(
            df, "logistic", likelihood="binomial", law_options={"floor": 0.0}, x="c", y="acc", trials="n", **NUTS
        )
    assert np.isfinite(dt["log_likelihood"]["y"].values).all()
    assert q(dt, "log10_x_mid", 0.01) < 21.5 < q(dt, "log10_x_mid", 0.99)
    assert q(dt, "slope", 0.01) < 2.0 < q(dt, "slope", 0.99)


# ------------------------------------------------------------------ 3. partial pooling (fit_many: batched)
def _families(seed, offsets):
    rng = np.random.default_rng(seed)
    rows = []
    for j, off in enumerate(offsets):
        c = np.logspace(19, 22, 6) * 10 ** rng.uniform(-0.2, 0.2, 6)
        se = rng.uniform(0.01, 0.06, 6)  # known errors on top of a scatter of 0.03
        y = np.exp(1.0 + off - 0.15 * np.log(10) * (np.log10(c) - 21) + rng.normal(0, np.hypot(0.03, se)))
        rows.append(pd.DataFrame({"c": c, "loss": y, "se": se, "family": f"f{j}"}))
    return pd.concat(rows, ignore_index=True)


OFFSETS = {"a": [-0.4, -0.1, 0.0, 0.2, 0.5, 0.3], "b": [0.3, -0.3, 0.1, 0.0, -0.2]}


@pytest.fixture(scope="module")
def pooled_many():
    data = {name: _families(i, off) for i, (name, off) in enumerate(OFFSETS.items())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scaling.fit_many(
            data,
            "power_law",
            x="c",
            y="loss",
            y_err="se",
            group="family",
            pooled=("log_y0",),
            target_accept=0.95,
            **NUTS,
        )


def test_partial_pooling_recovers_group_offsets_in_a_batched_fit(pooled_many):
    post = pooled_many.posterior
    groups = json.loads(pooled_many.attrs["groups"])
    for name, off in OFFSETS.items():
        g = post["log_y0_group"].sel(problem=name).median(("chain", "draw")).values[: len(off)]
        assert len(groups[list(OFFSETS).index(name)]) == len(off)
        # offsets are known up to the shared level (set by y_scale): compare centred values
        np.testing.assert_allclose(g - g.mean(), np.array(off) - np.mean(off), atol=0.08)
        assert q_sel(post, "alpha", name, 0.01) < 0.15 < q_sel(post, "alpha", name, 0.99)
    # problem b has 5 groups, the padded sixth is NaN
    assert np.isnan(post["log_y0_group"].sel(problem="b").values[..., 5]).all()
    assert pooled_many["constant_data"]["y_err"].sizes == {"point": 36, "problem": 2}


def q_sel(post, name, problem, p):
    return float(np.quantile(post[name].sel(problem=problem).values, p))


def test_predict_for_a_seen_group_and_an_unseen_one(pooled_many):
    one = scaling.select_problem(pooled_many, "a")
    assert list(one.posterior["group"].values) == [f"f{j}" for j in range(6)]
    x = np.array([1e21])
    seen = scaling.predict(one, x, in_group="f4")
    new = scaling.predict(one, x, in_group="a-new-family")
    assert float(seen.median()) > float(scaling.predict(one, x, in_group="f0").median())
    fig = scaling.plot_forest(one, "log_y0_group")  # the group effects, a row per family
    assert [tick.get_text() for tick in fig.axes[0].get_yticklabels()] == [f"f{j}" for j in range(6)]
    # an unseen family's interval carries the between-family spread: wider than any seen one's
    assert float(new.quantile(0.95) - new.quantile(0.05)) > 3 * float(seen.quantile(0.95) - seen.quantile(0.05))


# ------------------------------------------------------------------ 2. effective compute
def test_effective_compute_recovers_the_rate_of_algorithmic_progress():
    rng = np.random.default_rng(11)
    n = 40
    t = rng.uniform(2018, 2025, n)
    c = 10 ** rng.uniform(20, 25, n)
    log_eff = np.log10(c) + 0.5 * (t - t.mean())  # 10^0.5 = 3.2x effective compute a year
    y = np.exp(0.8 - 0.08 * np.log(10) * (log_eff - 22.5) + rng.normal(0, 0.03, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = scaling.fit({"c": c, "t": t, "loss": y}, "power_law", x="c", date="t", y="loss", **NUTS)
    assert q(dt, "g", 0.01) < 0.5 < q(dt, "g", 0.99)
    assert q(dt, "algorithmic_progress_per_year", 0.01) < 10**0.5 < q(dt, "algorithmic_progress_per_year", 0.99)
    assert json.loads(dt.attrs["spec"])["law"]["options"] == {"effective_compute": True}
    # a later model at the same compute is predicted better (lower loss)
    late = scaling.predict(dt, {"x": [1e23, 1e23], "t": [2020.0, 2024.0]}).median(("chain", "draw")).values
    assert late[1] < late[0]


# ------------------------------------------------------------------ 5. specs
def test_spec_model_structure_is_validated_and_passed_to_fit(tmp_path):
    from scaling.studies.spec import fit_arguments, load_spec

    path = tmp_path / "s.toml"
    path.write_text(
        '[data]\nsource = "time_horizons"\n[model]\nlaw = "exponential_trend"\nx = ["release_date"]\n'
        'y = "p50_minutes"\ny_low = "p50_ci_low"\ny_high = "p50_ci_high"\nlevel = 0.95\n'
    )
    kw = fit_arguments(load_spec(path))
    assert kw["y_low"] == "p50_ci_low" and kw["level"] == 0.95
    path.write_text(
        '[data]\nsource = "obsscaling"\n[model]\nlaw = "power_law"\nx = "training_flop"\ny = "mmlu"\ngroup = "family"\n'
    )
    with pytest.raises(SpecError, match=r"s\.toml: \[model\] group needs pooled"):
        load_spec(path)
    path.write_text(
        '[data]\nsource = "obsscaling"\n[model]\nlaw = "saturating_power_law"\nx = "training_flop"\ny = "mmlu"\n'
        'group = "family"\npooled = ["e_frac"]\n'
    )
    with pytest.raises(SpecError, match=r"s\.toml: \[model\].*unbounded prior"):
        load_spec(path)


@pytest.fixture(scope="module")
def obsscaling_pooling():
    """MMLU against training compute, Observational Scaling Laws' base models (about 40 families):
    logistic with a 0.25 chance floor; the families' midpoints (compute efficiency) pooled or not."""
    kw = {"x": "training_flop", "y": "mmlu", "law_options": {"floor": 0.25}, "dropna": True, **NUTS}
    no_pooling = {"midpoint": {"dist": "Uniform", "low": 1.9, "high": 2.0}}  # independent families, sd ~2 decades
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "complete": scaling.fit("obsscaling", "logistic", **kw),
            "partial": scaling.fit("obsscaling", "logistic", group="family", pooled=("midpoint",), **kw),
            "none": scaling.fit("obsscaling", "logistic", group="family", pooled=no_pooling, **kw),
        }


def test_obsscaling_families_partial_pooling_by_psis_loo(obsscaling_pooling):
    """Families differ in compute efficiency (Ruan et al. 2024): one curve for all fits far worse out of
    sample than pooled families (measured: elpd 118 vs 169, dse 15), and pooling loses nothing against
    independent families (165, dse 4). Gate off: 2 x 300 draws are below the diagnostics' ESS bar."""
    t = scaling.compare(obsscaling_pooling, gate=False).table
    assert t.loc["partial", "elpd"] - t.loc["complete", "elpd"] > 2 * t.loc["complete", "dse"]
    assert t.loc["partial", "elpd"] > t.loc["none", "elpd"] - 2 * max(t.loc["none", "dse"], t.loc["partial", "dse"])
    post = obsscaling_pooling["partial"].posterior
    assert q(obsscaling_pooling["partial"], "midpoint_sd", 0.05) > 0.2  # decades of compute between families
    assert post.sizes["group"] == len(json.loads(obsscaling_pooling["partial"].attrs["groups"])) > 30


def test_effective_compute_forecasts_later_frontier_models_better():
    """Rolling origin on the shipped frontier table: MMLU of models released from 2023-11 on, from fits to
    the earlier ones. Compute-only puts most later models above its predictive median (measured: 76%,
    CRPS 0.052); effective compute does not (55%, CRPS 0.034). bench/models_backtest.py has more origins."""
    from scaling.analysis.backtesting import score
    from scaling.data import registry
    from scaling.data.tables import to_decimal_year

    df = registry.load("frontier_models").dropna(subset=["mmlu", "training_flop"])
    df = df.assign(year=to_decimal_year(df["release_date"], "release_date", "frontier_models", df))
    train, test = df[df.year < 2023 + 10 / 12], df[df.year >= 2023 + 10 / 12]
    kw = {"x": "training_flop", "y": "mmlu", "law_options": {"floor": 0.25}, **NUTS}
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, extra, x in (
            ("compute", {}, test["training_flop"].to_numpy()),
            ("effective", {"date": "year"}, {"x": test["training_flop"].to_numpy(), "t": test["year"].to_numpy()}),
        ):
            dt = scaling.fit(train, "logistic", **kw, **extra)
            draws = scaling.predict(dt, x, kind="predictive").values.reshape(-1, len(test))
            out[name] = score(draws, test["mmlu"].to_numpy())
            out[name]["above"] = float(np.mean(test["mmlu"].to_numpy() > np.median(draws, axis=0)))
    assert out["effective"]["crps"] < 0.85 * out["compute"]["crps"]
    assert abs(out["effective"]["above"] - 0.5) < abs(out["compute"]["above"] - 0.5)
    assert out["effective"]["coverage_95"] > out["compute"]["coverage_95"]
