"""Every public plot renders to files (PNG, PDF, SVG) and draws what it should.

Fits are tiny (2 chains x 100 draws) and shared through module-scoped fixtures: one
``fit_many`` on the shipped METR time horizons (two problems: the frontier rows, all
rows; its frontier problem doubles as a single exponential fit), a quadratic trend on
the frontier rows, and a saturating power law on synthetic compute data (log axes).
The economics plots get synthetic draws, not a run of ``run_plan``.
"""

import inspect
import types
import warnings

import numpy as np
import pytest
import xarray as xr
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

import scaling
from scaling import planning as econ
from scaling import plots
from scaling.analysis.comparison import Comparison, compare
from scaling.analysis.forecasting import Forecast, crossing, trend_draws

from . import test_capability

FAST = {"num_warmup": 100, "num_samples": 100, "num_chains": 2, "seed": 0}
HORIZONS = {"x": "release_date", "y": "p50_minutes"}
MAGIC = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}


def render(fig, tmp_path, name, formats=("png", "pdf")) -> list[str]:
    """Save through save_figure and check each file is non-empty and of its format."""
    assert isinstance(fig, Figure)
    written = plots.save_figure(fig, tmp_path / name, formats=formats)
    assert [w.rsplit(".", 1)[1] for w in written] == list(formats)
    for path, fmt in zip(written, formats, strict=True):
        data = open(path, "rb").read()
        assert len(data) > 1000 and data.startswith(MAGIC[fmt]), (path, data[:20])
    return written


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def many():
    df = scaling.datasets.load("time_horizons")
    return quiet(
        scaling.fit_many, {"frontier": df[df["frontier"] == 1], "all": df}, "exponential_trend", **HORIZONS, **FAST
    )


@pytest.fixture(scope="module")
def expo(many):
    return scaling.select_problem(many, "frontier")


@pytest.fixture(scope="module")
def quad():
    return quiet(scaling.fit, "time_horizons", "quadratic_trend", where="frontier == 1", **HORIZONS, **FAST)


@pytest.fixture(scope="module")
def sat():
    rng = np.random.default_rng(0)
    c = np.logspace(18, 23, 24)
    loss = (1.7 + 3.0 * (c / 1e18) ** -0.15) * np.exp(0.01 * rng.standard_normal(c.size))
    return quiet(scaling.fit, {"flop": c, "loss": loss}, "saturating_power_law", x="flop", y="loss", **FAST)


@pytest.fixture(scope="module")
def point(expo):
    """A point-fit-shaped tree: the draws on one ``sample`` dim, no chains."""
    post = expo["posterior"].to_dataset()
    ds = xr.Dataset({v: ("sample", post[v].values.reshape(-1)) for v in post.data_vars})
    out = xr.DataTree.from_dict({"posterior": ds})
    out.attrs = dict(expo.attrs)
    return out


# ----------------------------------------------------------------------------- existing plots


def test_plot_fit(expo, sat, tmp_path):
    fig = plots.plot_fit(expo, extend=2)
    render(fig, tmp_path, "fit_date", formats=("png", "pdf", "svg"))
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
    labels = ax.get_legend_handles_labels()[1]
    assert [lab for lab in labels if lab.endswith("predictive")] == [
        "95% predictive",
        "80% predictive",
        "50% predictive",
    ]
    assert "extrapolation" in labels and "data" in labels
    fig = plots.plot_fit(sat, extend=1)
    render(fig, tmp_path, "fit_compute")
    assert fig.axes[0].get_xscale() == "log"  # log-compute axis with FLOP decades
    with pytest.raises(ValueError, match="'size' parameter"):
        plots.plot_fit(expo, size="poster")


def test_point_fit_curves_band_only_bootstrap_replicates():
    """A point fit's figure has its best-fit curve and no band; with bootstrap, the replicates' bands
    are labelled as such (not as predictive intervals)."""
    x = np.logspace(18, 23, 20)
    data = {"flop": x, "loss": 3.0 * (x / 1e18) ** -0.1 * np.exp(0.02 * np.sin(np.arange(20)))}
    best = plots.fit_curves(scaling.fit_point(data, "power_law", x="flop", y="loss"))
    assert best["bands"] == [] and best["curve_label"] == "best fit"
    boot = plots.fit_curves(scaling.fit_point(data, "power_law", x="flop", y="loss", num_bootstrap=20))
    assert len(boot["bands"]) == 3 and boot["band_label"] == "bootstrap" and boot["curve_label"] == "median law"
    lo, hi = boot["bands"][0][1:]
    assert np.all(hi >= lo) and np.any(hi > lo)
    labels = [t.get_text() for t in plots.draw_fit(best).axes[0].get_legend().get_texts()]
    assert labels == ["best fit", "data"]


def _forecast(expo, quad, threshold):
    grid = np.linspace(2025.5, 2030.0, 40)
    fits = {"exponential_trend": expo, "quadratic_trend": quad}
    draws = {name: trend_draws(f, grid) for name, f in fits.items()}
    fc = Forecast(
        fits,
        {"exponential_trend": 0.5, "quadratic_trend": 0.5},
        grid,
        draws,
        np.concatenate(list(draws.values())),
        None,
        [],
    )
    if threshold is not None:
        fc.crossing = crossing(fc.stacked, grid, threshold)
    return fc


def test_plot_fan(expo, quad, tmp_path):
    fig = plots.plot_fan(_forecast(expo, quad, 10020.0))
    render(fig, tmp_path, "fan")
    assert len(fig.axes) == 2  # trajectories above, crossing-date histogram below
    top = fig.axes[0]
    assert sum("median" in lab for lab in top.get_legend_handles_labels()[1]) == 2  # one per shape
    assert len(fig.axes[1].patches) == 40  # the crossing histogram's bars
    assert len(plots.plot_fan(_forecast(expo, quad, None)).axes) == 1


def test_plot_cone(tmp_path):
    rng = np.random.default_rng(0)
    years = np.linspace(2026, 2030, 17)
    growth = np.exp(np.outer(rng.normal(1.0, 0.3, 500), years - 2026))
    derived = xr.Dataset(
        {
            "revenue": (("sample", "year"), 5e9 * growth),
            "naive_revenue": (("sample", "year"), 5e9 * growth[::-1] ** 1.2),
        },
        coords={"year": years},
    )
    result = types.SimpleNamespace(tree=xr.DataTree.from_dict({"derived": derived}))
    fig = plots.plot_cone(result)
    render(fig, tmp_path, "cone")
    (ax,) = fig.axes
    assert len(ax.collections) == 2 and len(ax.lines) == 2  # a 10-90% band and a median each
    assert ax.get_yscale() == "log"


def test_plot_can_pay(tmp_path):
    revenue = np.exp(np.random.default_rng(1).normal(np.log(50e9), 0.6, size=4000))
    p = econ.plan_year(revenue, year=2028)
    fig = plots.plot_can_pay(p)
    render(fig, tmp_path, "can_pay")
    (ax,) = fig.axes
    assert len(ax.lines) == 3  # the curve and the two commitments
    curve = ax.lines[0].get_ydata()
    assert np.all(np.diff(curve) <= 1e-12) and curve[0] == pytest.approx(1.0)  # P(can pay) falls with commitment


def test_plot_pnl(tmp_path):
    years = np.array([2026.0, 2027.0, 2028.0, 2029.0])
    revenue = np.exp(np.random.default_rng(2).normal(np.log(5e9), 0.5, size=(200, 1))) * 3.0 ** (years - 2026)
    pnl = econ.generation_pnl(revenue, years, first_year=2026, first_cost=1e8, cost_growth=10)
    fig = plots.plot_pnl(pnl)
    render(fig, tmp_path, "pnl")
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2 and all(len(c.lines[0].get_xdata()) == len(pnl) for c in bars)


# ----------------------------------------------------------------------------- parameters


def test_plot_posterior(expo, point, tmp_path):
    fig = plots.plot_posterior(expo)
    render(fig, tmp_path, "posterior", formats=("png", "pdf", "svg"))
    names = list(expo["posterior"].data_vars)
    assert len(fig.axes) == len(names)
    assert [ax.get_title().split("\n")[0] for ax in fig.axes] == names
    med = float(expo["posterior"]["growth"].median())
    ax = fig.axes[names.index("growth")]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(med)  # the median line
    fig = plots.plot_posterior(expo, ["growth", "doubling_time_days"], size="single")
    assert len(fig.axes) == 2
    render(plots.plot_posterior(point, ["growth"]), tmp_path, "posterior_point")  # bootstrap-style draws
    with pytest.raises(ValueError, match="unknown or non-scalar parameter"):
        plots.plot_posterior(expo, ["nope"])


def test_plot_posterior_refuses_fit_many(many):
    with pytest.raises(ValueError, match="select_problem"):
        plots.plot_posterior(many)


def test_plot_forest(expo, quad, many, tmp_path):
    fig = plots.plot_forest(many, "doubling_time_days")
    render(fig, tmp_path, "forest_many")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["frontier", "all"]  # problem coordinate, first on top
    assert len(ax.collections[-1].get_offsets()) == 2  # one median dot per dataset
    fig = plots.plot_forest({"exponential": expo, "quadratic": quad, "batch": many}, "growth", ref=1.2)
    render(fig, tmp_path, "forest_dict")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["exponential", "quadratic", "batch: frontier", "batch: all"]
    dots = fig.axes[0].collections[-1].get_offsets()
    assert len(dots) == 4
    assert dots[0, 0] == pytest.approx(float(expo["posterior"]["growth"].median()))
    with pytest.raises(ValueError, match="has no 'curvature'"):
        plots.plot_forest({"exponential": expo, "quadratic": quad}, "curvature")


# ----------------------------------------------------------------------------- comparison and returns


def test_plot_comparison(expo, quad, tmp_path):
    comp = quiet(compare, {"exponential": expo, "quadratic": quad}, gate=False)  # tiny fits fail the ESS gate
    fig = plots.plot_comparison(comp)
    render(fig, tmp_path, "comparison", formats=("png", "pdf", "svg"))
    (ax,) = fig.axes
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars[0].lines[0].get_xdata()) == len(comp.table)  # one elpd marker per law
    assert len(bars[1].lines[0].get_xdata()) == len(comp.table) - 1  # a difference for every law but the best
    np.testing.assert_allclose(np.sort(bars[0].lines[0].get_xdata()), np.sort(comp.table["elpd"]))
    notes = [t.get_text() for t in ax.texts if "w = " in t.get_text()]
    assert len(notes) == len(comp.table)
    assert f"w = {comp.table['weight'].iloc[0]:.2f}" in notes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(comp.table.index)
    with pytest.raises(ValueError, match="unreliable.*R-hat"):
        plots.plot_comparison(Comparison("fail", ["exponential failed diagnostics (R-hat of growth is 1.2)"]))


def test_plot_elasticity(sat, quad, tmp_path):
    fig = plots.plot_elasticity(sat, extend=1)
    render(fig, tmp_path, "elasticity", formats=("png", "pdf", "svg"))
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert "elasticity" in ax.get_ylabel()
    labels = fig.legends[0].get_texts()
    assert {t.get_text() for t in labels} >= {"data", "extrapolation", "median, 50/80/95% intervals"}
    median = ax.lines[0].get_ydata()
    assert np.all(median < 0) and median[-1] > median[0]  # loss elasticity shrinks toward 0: diminishing
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(1e24, rel=1e-6)  # one decade past the data
    assert len(ax.lines[-1].get_xdata()) == 24  # the data rug
    # a fit that carries its derived group (from returns / marginal_returns) is used as it is
    with_returns = scaling.marginal_returns(sat, num_grid=17)
    fig = plots.plot_elasticity(with_returns, quantity="elasticity_reducible", rope=None, size="double")
    render(fig, tmp_path, "elasticity_reducible")
    assert len(fig.axes[0].lines[0].get_xdata()) == 17
    fig = plots.plot_elasticity(quad, extend=2)
    render(fig, tmp_path, "growth_rate")
    assert fig.axes[0].get_xscale() == "linear" and "growth rate" in fig.axes[0].get_ylabel()
    with pytest.raises(ValueError, match="'quantity' parameter"):
        plots.plot_elasticity(sat, quantity="growth_rate")


# ----------------------------------------------------------------------------- sampler diagnostics


def test_plot_trace(sat, tmp_path):
    fig = plots.plot_trace(sat)
    render(fig, tmp_path, "trace", formats=("png", "pdf", "svg"))
    sampled = ["log_y0", "slope0", "e_frac", "sigma"]  # the law's and the likelihood's, not the papers'
    assert len(fig.axes) == 2 * len(sampled)
    assert [fig.axes[2 * i].get_ylabel() for i in range(len(sampled))] == sampled
    trace = fig.axes[1]
    assert len(trace.lines) == 2 and len(trace.lines[0].get_ydata()) == 100  # one line per chain, every draw
    np.testing.assert_array_equal(trace.lines[1].get_ydata(), sat["posterior"]["log_y0"].isel(chain=1).values)
    assert len(plots.plot_trace(sat, ["alpha"]).axes) == 2


def test_plot_rank(sat, tmp_path):
    fig = plots.plot_rank(sat, bins=10)
    render(fig, tmp_path, "rank")
    assert len(fig.axes) == 4
    for ax in fig.axes:
        steps = [p for p in ax.patches if isinstance(p, StepPatch)]
        assert len(steps) == 2  # one rank histogram per chain
        counts = np.concatenate([s.get_data().values for s in steps])
        assert counts.sum() == 200 and len(counts) == 20  # every draw ranked once, 10 bins per chain


@pytest.mark.parametrize("fn", [plots.plot_trace, plots.plot_rank])
def test_chain_plots_refuse_point_fits_and_batches(fn, point, many):
    with pytest.raises(ValueError, match="needs MCMC chains.*point fit"):
        fn(point)
    with pytest.raises(ValueError, match="select_problem"):
        fn(many)


@pytest.fixture(scope="module")
def policies():
    years = np.arange(2026.0, 2031.0)
    mu = 20e9 * 3.0 ** np.arange(5)[None, :] * np.ones((300, 1))
    return econ.compare_policies(econ.correlated_paths(mu, 0.6, years, seed=4), years)


def test_plot_risk_growth(policies, tmp_path):
    fig = plots.plot_risk_growth(policies)
    assert fig.axes[0].get_ylabel() == "P(cannot pay in some year)"
    render(fig, tmp_path, "risk_growth")


def test_plot_fleet_fan(policies, tmp_path):
    fig = plots.plot_fleet_fan(policies)
    assert len(fig.axes) == 2
    render(fig, tmp_path, "fleet_fan")


# ----------------------------------------------------------------------------- coverage

RENDER_TESTS = {
    "plot_fit": test_plot_fit,
    "plot_fan": test_plot_fan,
    "plot_cone": test_plot_cone,
    "plot_can_pay": test_plot_can_pay,
    "plot_pnl": test_plot_pnl,
    "plot_posterior": test_plot_posterior,
    "plot_forest": test_plot_forest,
    "plot_comparison": test_plot_comparison,
    "plot_elasticity": test_plot_elasticity,
    "plot_trace": test_plot_trace,
    "plot_rank": test_plot_rank,
    "plot_risk_growth": test_plot_risk_growth,
    "plot_fleet_fan": test_plot_fleet_fan,
    # the capability index's figures are drawn where its (slow) fit is made
    "plot_benchmark_curves": test_capability.test_capability_figures_and_benchmark_table,
    "plot_capability_dates": test_capability.test_capability_figures_and_benchmark_table,
}


def test_every_plot_function_has_a_render_test():
    public = {
        name
        for name, obj in inspect.getmembers(plots, inspect.isfunction)
        if name.startswith("plot_") and obj.__module__.startswith(plots.__name__)
    }
    assert public == set(RENDER_TESTS), public ^ set(RENDER_TESTS)
    for name, test in RENDER_TESTS.items():
        source = inspect.getsource(test)
        assert f"plots.{name}(" in source and ("render(" in source or "plots.save_figure(" in source), name
        assert getattr(scaling, name) is getattr(plots, name)  # exported lazily from the package
    for name in public | {"draw_fit"}:  # library code never shows and always returns the figure
        source = inspect.getsource(getattr(plots, name))
        returns = "return fig" in source or "return draw_fit(" in source
        assert "plt.show" not in source and "pyplot" not in source and returns, name


def test_log_axes_use_plain_text_tick_labels(sat):
    assert [plots.tick_label(v) for v in (0.5, 20, 1e20, 3e20, 1e-5, 2.5e-7)] == [
        "0.5",
        "20",
        "10\u00b2\u2070",
        "3\u00d710\u00b2\u2070",
        "10\u207b\u2075",
        "2.5\u00d710\u207b\u2077",
    ]
    fig = plots.plot_fit(sat)  # FLOP 1e18-1e23 on a log x axis
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert "10\u00b2\u2070" in labels and not any("$" in t for t in labels), labels  # 10^20, no mathtext
