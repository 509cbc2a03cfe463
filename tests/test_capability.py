"""The capability index: the hub loader, recovery of known (theta, a, b, c), agreement with ECI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from scaling.data.hub import LONG_COLUMNS, load_hub, long_table
from scaling.errors import DataError, ScalingError


@pytest.fixture(scope="module")
def hub():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_hub()


def test_hub_is_one_long_table_with_every_drop_reported(hub):
    assert list(hub.columns) == list(LONG_COLUMNS)
    assert hub["score"].between(0, 1).all() and not hub.duplicated(["model", "benchmark"]).any()
    assert hub["benchmark"].nunique() >= 35 and hub["model"].nunique() >= 150
    assert (hub.groupby("model")["benchmark"].nunique() >= 4).all()
    assert hub["date"].min() >= pd.Timestamp("2022-11-01")
    # reasoning-effort variants stay separate model versions
    assert {"o3-2025-04-16_high", "o3-2025-04-16_medium"} <= set(hub["model"])
    # percent strings became fractions: MMLU of GPT-4 (0314) is 86.4% in the hub's external table
    assert hub.loc[(hub["model"] == "gpt-4-0314") & (hub["benchmark"] == "MMLU"), "score"].iloc[0] == pytest.approx(
        0.864
    )
    # internal runs carry their reported standard errors
    assert hub.loc[hub["source"] == "Epoch evaluations", "stderr"].notna().mean() > 0.9
    dropped = hub.attrs["dropped"]
    reasons = set(dropped["reason"])
    assert any(r.startswith("repeat of a (model, benchmark) pair") for r in reasons)
    assert any("fewer than 4 benchmarks" in r for r in reasons)
    assert {"file", "row", "model", "benchmark", "reason"} <= set(dropped.columns)


def test_hub_duplicates_keep_the_highest_score(hub):
    dropped = hub.attrs["dropped"]
    rep = dropped[dropped["reason"].str.startswith("repeat")]
    kept = hub.set_index(["model", "benchmark"])["score"]
    pairs = rep.set_index(["model", "benchmark"])["score"]
    assert (kept.reindex(pairs.index).to_numpy() >= pairs.to_numpy()).all()


def test_long_table_refuses_bad_rows():
    with pytest.raises(DataError, match="row 1"):
        long_table(pd.DataFrame({"model": ["a", "b"], "benchmark": ["x", "x"], "score": [0.5, 1.7]}))
    with pytest.raises(DataError, match="repeats"):
        long_table(pd.DataFrame({"model": ["a", "a"], "benchmark": ["x", "x"], "score": [0.5, 0.6]}))
    with pytest.raises(DataError, match="required"):
        long_table(pd.DataFrame({"model": ["a"], "score": [0.5]}))
    with pytest.raises(DataError, match="duplicates"):
        load_hub(duplicates="first")
    assert np.isnan(long_table(pd.DataFrame({"model": ["a"], "benchmark": ["x"], "score": [0.5]}))["stderr"]).all()


def test_fit_index_refuses_unknown_anchors():
    from scaling.analysis.capability import fit_index

    df = pd.DataFrame({"model": ["a", "b", "c"], "benchmark": ["x"] * 3, "score": [0.2, 0.5, 0.8]})
    with pytest.raises(ScalingError, match="not in the table"):
        fit_index(df, anchors=(("a", 0.0), ("zz", 1.0)))
    with pytest.raises(ScalingError, match="likelihood"):
        fit_index(df, likelihood="normal")


def synthetic(seed: int = 1, n_models: int = 30, n_bench: int = 6):
    """Scores from the 3PL with known (theta, a, b, c) and beta noise (phi = 100)."""
    rng = np.random.default_rng(seed)
    theta = np.sort(rng.normal(0.0, 1.0, n_models))
    a, b = rng.uniform(1.5, 4.0, n_bench), np.linspace(-1.0, 1.0, n_bench)
    c = np.array([0.25, 0.0, 0.5, 0.0, 0.25, 0.0])[:n_bench]
    mu = c + (1 - c) / (1 + np.exp(-a * (theta[:, None] - b)))
    y = rng.beta(mu * 100, (1 - mu) * 100)
    dates = pd.date_range("2023-01-01", periods=n_models, freq="MS")  # later models are more capable
    rows = [
        {"model": f"m{i:02d}", "benchmark": f"b{j}", "score": y[i, j], "floor": c[j], "date": dates[i]}
        for i in range(n_models)
        for j in range(n_bench)
    ]
    return pd.DataFrame(rows), theta, a, b


@pytest.fixture(scope="module")
def future():
    """Leave-future-out on synthetic data: the last 10 of 30 models show half their scores."""
    from scaling.analysis.capability_checks import leave_future_out

    df, theta, a, b = synthetic()
    kw = dict(anchors=None, num_warmup=300, num_samples=300, num_chains=2, gate="off")
    scores, table, fit = leave_future_out(df, "2024-09-01", reveal=0.5, seed=0, **kw)
    return scores, table, fit, theta, a, b


def test_index_recovers_known_capabilities_and_difficulties(future):
    _, _, fit, theta, a, b = future
    post = fit["posterior"]
    assert set(post["theta"].dims) == {"chain", "draw", "model"} and post["b"].dims[-1] == "benchmark"
    q = post["theta"].quantile([0.025, 0.5, 0.975], dim=("chain", "draw")).values
    # standard-normal theta: the truth's scale, so the truth should sit inside the 95% intervals
    assert np.corrcoef(q[1], theta)[0, 1] > 0.95
    assert np.mean((theta >= q[0]) & (theta <= q[2])) >= 0.8
    bq = post["b"].quantile([0.025, 0.975], dim=("chain", "draw")).values
    assert np.corrcoef(post["b"].median(("chain", "draw")).values, b)[0, 1] > 0.9
    assert np.mean((b >= bq[0]) & (b <= bq[1])) >= 0.66
    assert np.corrcoef(np.log(post["a"].median(("chain", "draw")).values), np.log(a))[0, 1] > 0.5
    # known floors stay fixed
    np.testing.assert_allclose(post["c"].values[0, 0], [0.25, 0.0, 0.5, 0.0, 0.25, 0.0], atol=1e-6)
    assert fit.attrs["law"] == "capability_index" and "spec_id" in fit.attrs
    # at most 1% divergent (2 of 600 draws seen: NUTS at these short settings on 30 x 6 scores)
    assert int(fit["sample_stats"]["diverging"].sum()) <= 6


#: The hub subset the ECI test fits (to stay near a minute on 2 cores): the 6 benchmarks with the
#: most scores, models scored on at least 3 of them (426 scores, 127 models, 110 with an ECI).
ECI_SUBSET = 6


@pytest.fixture(scope="module")
def hub_fit(hub):
    from scaling.analysis.capability import fit_index

    top = hub["benchmark"].value_counts().index[:ECI_SUBSET]
    sub = hub[hub["benchmark"].isin(top)]
    n = sub.groupby("model")["benchmark"].nunique()
    sub = sub[sub["model"].map(n) >= 3]
    return fit_index(sub, num_warmup=300, num_samples=300, num_chains=2, seed=0, gate="off", max_tree_depth=8)


def test_index_agrees_with_published_eci(hub_fit):
    """Posterior medians against Epoch's ECI (2025-11-07) on the shared models: Spearman >= 0.95."""
    from scaling.analysis.capability import compare_eci
    from scaling.models.irt import ECI_ANCHORS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cmp = compare_eci(hub_fit)
    assert cmp.attrs["n"] >= 100
    assert cmp.attrs["spearman"] >= 0.95, cmp.head(10)
    # the anchors sit at their ECI values by construction
    theta = hub_fit["posterior"]["theta"]
    for model, value in ECI_ANCHORS:
        assert float(theta.sel(model=model).std()) == 0.0 and float(theta.sel(model=model).mean()) == value
    assert {"median", "eci", "mapped", "difference"} <= set(cmp.columns)


def test_leave_future_out_intervals_cover_the_hidden_scores(future):
    scores, table, fit, *_ = future
    assert scores["n"] == len(table) == fit.attrs["n_heldout"] >= 25
    assert set(table["model"]) <= {f"m{i:02d}" for i in range(20, 30)}  # only later models are hidden
    # 30 hidden scores of the most capable models (extrapolation in theta): the binomial sd of a
    # 95% coverage is 0.04; seen 0.80 here (under-coverage near saturation, reported in bench/capability.md)
    assert scores["coverage_95"] >= 0.75 and 0.3 <= scores["coverage_50"] <= 0.8
    assert 0 < scores["crps"] < 0.08
    assert (table["lo95"] <= table["median"]).all() and (table["median"] <= table["hi95"]).all()


def test_capability_figures_and_benchmark_table(future, tmp_path):
    from scaling import plots
    from scaling.plots import benchmark_table, plot_benchmark_curves

    fit = future[2]
    fig = plots.plot_benchmark_curves(fit)
    assert len(fig.axes) == 6 and all(len(ax.collections) >= 2 for ax in fig.axes)
    dates = plots.plot_capability_dates(fit, label=["m29"])
    assert len(dates.axes) == 1
    for name, figure in (("curves", fig), ("dates", dates)):
        assert all(f.endswith(".png") for f in plots.save_figure(figure, tmp_path / name))
    tab = benchmark_table(fit)
    assert list(tab.index) == list(tab.sort_values("b").index) and (tab["a_lo"] > 0).all()
    with pytest.raises(ValueError, match="not in the fit"):
        plot_benchmark_curves(fit, ["nope"])


def test_anchoring_maps_each_draw_and_keeps_every_prediction():
    """theta' = v1 + (v2 - v1)(theta - theta[m1]) / (theta[m2] - theta[m1]), b alike, a / k: a (theta - b) unchanged."""
    from scaling.models.irt import IndexSpec, anchor_draws

    rng = np.random.default_rng(0)
    theta, b, a = rng.normal(size=(3, 50, 7)), rng.normal(size=(3, 50, 4)), rng.lognormal(size=(3, 50, 4))
    spec = IndexSpec(7, 4, anchor_idx=(2, 5), scale=(130.0, 20.0))
    t2, b2, a2 = anchor_draws(theta, b, a, spec)
    assert (t2[..., 2] == 130.0).all() and (t2[..., 5] == 150.0).all()
    logit2 = a2[..., None, :] * (t2[..., :, None] - b2[..., None, :])
    np.testing.assert_allclose(logit2, a[..., None, :] * (theta[..., :, None] - b[..., None, :]), rtol=1e-9, atol=1e-9)
    same = anchor_draws(theta, b, a, IndexSpec(7, 4))
    assert all(np.array_equal(x, y) for x, y in zip(same, (theta, b, a), strict=True))


def test_fast_log_gamma_matches_scipy():
    from scipy.special import gammaln

    from scaling.models.likelihoods import log_gamma

    x = np.geomspace(1e-3, 1e5, 400)
    got = np.asarray(log_gamma(x.astype(np.float32)), float)
    np.testing.assert_allclose(got, gammaln(x), rtol=2e-6, atol=2e-5)


def test_shrunk_covariance_keeps_strong_correlations_and_shrinks_noise():
    from scaling.analysis.capability_sampler import shrunk_covariance

    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 1))
    x = np.hstack([z, z + 0.1 * rng.normal(size=(400, 1)), rng.normal(size=(400, 30))])
    cov = shrunk_covariance(x)
    r = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    raw = np.corrcoef(x, rowvar=False)
    lam = 1 - r[0, 1] / raw[0, 1]
    assert 0 < lam < 1  # every correlation shrunk by the same analytic factor (Schafer & Strimmer)
    off = ~np.eye(32, dtype=bool)
    np.testing.assert_allclose(r[off], (1 - lam) * raw[off], atol=1e-9)
    assert np.abs(r[2:, 2:][off[2:, 2:]]).max() < 0.2 < r[0, 1]  # the real correlation stands out
    np.testing.assert_allclose(np.diag(cov), x.var(0, ddof=0), rtol=1e-9)
