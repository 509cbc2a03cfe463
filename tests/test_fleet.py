"""Revenue paths, the compute fleet and commitment policies: worked examples, behaviour, validation."""

import warnings

import numpy as np
import pytest
import xarray as xr

from scaling import planning as econ
from scaling.errors import ScalingError

YEARS5 = np.arange(2027, 2032)


# ----------------------------------------------------------------------------- worked examples
def test_20b_of_compute_at_80_percent_margin_serves_100b():
    a = econ.FleetAssumptions(gross_margin=0.8, efficiency_gain=1.0)  # no value decay: the textbook figure
    assert a.k == pytest.approx(1.0)  # $1 of capex serves $1 a year: $100B capex -> $20B a year -> $100B
    demand = np.array([[150e9], [100e9], [99e9]])
    ds = econ.evaluate_commitments(demand, [2027], [100e9], a)
    assert ds["fleet_cost"].item() == pytest.approx(20e9)
    assert ds["capacity"].item() == pytest.approx(100e9)
    np.testing.assert_allclose(ds["served"].values[:, 0], [100e9, 100e9, 99e9])
    np.testing.assert_allclose(ds["lost"].values[:, 0], [50e9, 0.0, 0.0])  # demand over capacity is turned away
    # $100B of revenue budgets exactly $20B for compute (balance 0); $99B does not
    np.testing.assert_allclose(ds["balance"].values[:, 0], [0.0, 0.0, -0.2e9], atol=1e-3)
    assert ds["cannot_pay"].values.tolist() == [False, False, True]
    assert ds["required_revenue"].item() == pytest.approx(100e9)


def test_one_gw_at_50b_over_5_years_costs_10b_a_year():
    years = np.arange(2027, 2033)
    ds = econ.evaluate_commitments(np.full((1, 6), 1e12), years, [50e9, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(ds["fleet_cost"].values, [10e9] * 5 + [0.0])  # paid 5 years, then retired
    np.testing.assert_allclose(ds["required_revenue"].values, [50e9] * 5 + [0.0])  # at 80% margin
    # value falls x1.4 a year; new capex serves k = 5 / sum(1.4^-j, j<5) = 1.7549 of revenue per dollar
    k = 5.0 / sum(1.4**-j for j in range(5))
    assert econ.FleetAssumptions().k == pytest.approx(k) == pytest.approx(1.7549, abs=1e-4)
    np.testing.assert_allclose(ds["capacity"].values, [50e9 * k * 1.4**-j for j in range(5)] + [0.0])
    assert list(ds["committed_in"].values[:2]) == [2026, 2027]  # one year of lead time


def test_vendor_financing_makes_the_first_gw_payable():
    # 1 GW ($50B, $10B a year) arrives in 2027; all revenue pays the fleet (pay_share=1)
    arrivals = [50e9, 0, 0, 0, 0]
    reaches_10b = np.array([[0.0, 10e9, 10e9, 10e9, 10e9]])  # $10B a year two years after committing in 2026
    vendor = econ.FleetAssumptions(pay_share=1.0, vendor_financing=10e9)
    ds = econ.evaluate_commitments(reaches_10b, YEARS5, arrivals, vendor)
    np.testing.assert_allclose(ds["balance"].values[0], [0.0] * 5, atol=1e-3)
    assert ds.attrs["p_cannot_pay"] == 0.0
    np.testing.assert_allclose(ds["cash"].values[0], [0.0] * 5, atol=1e-3)  # the vendor's $10B covers 2027
    alone = econ.evaluate_commitments(reaches_10b, YEARS5, arrivals, econ.FleetAssumptions(pay_share=1.0))
    assert alone.attrs["p_cannot_pay"] == 1.0 and alone["balance"].values[0, 0] == pytest.approx(-10e9)
    short = econ.evaluate_commitments(np.array([[0.0, 9e9, 9e9, 9e9, 9e9]]), YEARS5, arrivals, vendor)
    assert short.attrs["p_cannot_pay"] == 1.0 and short["final_balance"].item() == pytest.approx(-4e9)


def test_one_year_reduces_to_the_one_year_planner():
    rng = np.random.default_rng(0)
    revenue = np.exp(rng.normal(np.log(50e9), 0.6, size=4000))
    curve = econ.plan_year(revenue, year=2027, efficiency_gain=1.0, commitments=[20e9, 50e9, 80e9]).curve
    a = econ.FleetAssumptions(efficiency_gain=1.0)
    fleet = [
        econ.evaluate_commitments(revenue[:, None], [2027], [k], a).attrs["p_cannot_pay"] for k in curve["commitment"]
    ]
    np.testing.assert_allclose(fleet, curve["p_cannot_pay"])


# ----------------------------------------------------------------------------- behaviour
def test_more_commitment_means_more_risk_and_less_revenue_turned_away():
    paths = econ.correlated_paths(np.full((4000, 5), 100e9), 0.5, YEARS5, correlation=0.9, seed=1)
    a = econ.FleetAssumptions(pay_share=0.3, cash=5e9)
    runs = [econ.evaluate_commitments(paths, YEARS5, [k, 0, 0, 0, 0], a) for k in (40e9, 60e9, 80e9, 100e9)]
    risk = [r.attrs["p_cannot_pay"] for r in runs]
    lost = [float(r["revenue_lost"].mean()) for r in runs]
    assert np.all(np.diff(risk) > 0) and risk[0] < 0.01 < 0.1 < risk[-1]
    assert np.all(np.diff(lost) < 0)


def test_correlated_paths_keep_the_marginals_and_raise_the_risk_of_a_run_of_bad_years():
    mu = np.full((20000, 5), 100e9)
    iid = econ.correlated_paths(mu, 0.5, YEARS5, correlation=0.0, seed=3)
    walk = econ.correlated_paths(mu, 0.5, YEARS5, correlation=0.9, seed=3)
    for p in (iid, walk):  # same yearly marginals: lognormal, median $100B, sd 0.5 nats
        np.testing.assert_allclose(np.log(p).std(axis=0), 0.5, rtol=0.03)
        np.testing.assert_allclose(np.median(p, axis=0), 100e9, rtol=0.03)
    lag1 = [np.corrcoef(np.log(p[:, 1]), np.log(p[:, 2]))[0, 1] for p in (iid, walk)]
    assert abs(lag1[0]) < 0.03 and lag1[1] == pytest.approx(0.9, abs=0.02)
    # a fleet earning more than it costs when used (pay_share 0.3 > budget 0.2) with $10B of reserves:
    # independent bad years are absorbed, a run of bad years is not
    a = econ.FleetAssumptions(efficiency_gain=1.0, pay_share=0.3, cash=10e9)
    arrivals = [100e9, 0, 0, 0, 0]
    p_iid = econ.evaluate_commitments(iid, YEARS5, arrivals, a).attrs["p_cannot_pay"]
    p_walk = econ.evaluate_commitments(walk, YEARS5, arrivals, a).attrs["p_cannot_pay"]
    assert p_iid == pytest.approx(0.039, abs=0.01) and p_walk == pytest.approx(0.138, abs=0.015)
    # with no reserves and no surplus any bad year is fatal: then P(any year) is a union, larger for iid years
    tight = econ.FleetAssumptions(efficiency_gain=1.0)
    assert (
        econ.evaluate_commitments(iid, YEARS5, arrivals, tight).attrs["p_cannot_pay"]
        > econ.evaluate_commitments(walk, YEARS5, arrivals, tight).attrs["p_cannot_pay"]
    )


def test_random_walk_widens_the_cone():
    a, w = econ.path_scatter(20000, YEARS5, correlation=0.5, walk_sd=0.2, seed=0)
    np.testing.assert_allclose(a.std(axis=0), 1.0, rtol=0.03)
    np.testing.assert_allclose(w.std(axis=0), 0.2 * np.sqrt(np.arange(5)), atol=0.01)


def test_policies_on_synthetic_paths():
    mu = 20e9 * 3.0 ** np.arange(5)[None, :] * np.ones((2000, 1))
    paths = econ.correlated_paths(mu, 0.6, YEARS5, correlation=0.9, seed=2)
    tree = econ.compare_policies(paths, YEARS5)
    pol = tree["policies"].to_dataset()
    assert pol.sizes == {"policy": 5, "level": 20} and tree["draws"]["worst_year_cash"].dims == (
        "sample",
        "policy",
        "level",
    )
    pct = pol.sel(policy="percentile")
    assert np.all(np.diff(pct["p_cannot_pay"].values) >= 0)  # a higher percentile commits more, risks more
    assert np.all(np.diff(pct["expected_revenue_lost"].values) < 0)
    assert np.all(np.diff(pct["expected_idle_capacity"].values) > 0)  # ... and leaves more idle
    assert pct["p_cannot_pay"].sel(level=3).item() < 0.15 < 0.3 < pct["p_cannot_pay"].sel(level=11).item()
    assert pol["on_frontier"].values.any()
    assert tree["chosen"].attrs["policy"] == "percentile" and tree["chosen"].attrs["knob"] == 10.0
    # the chosen fleet is the schedule of the percentile rule at p10
    np.testing.assert_allclose(
        tree["chosen"]["arrivals"].values, tree["schedule"]["arrivals"].sel(policy="percentile", level=3).values
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gross_margin": 1.0}, "'gross_margin' must be in \\(0, 1\\)"),
        ({"amortisation_years": 2.5}, "'amortisation_years' must be a whole number of years >= 1"),
        ({"lead_time": -1}, "'lead_time' must be a whole number"),
        ({"efficiency_gain": 0.9}, "'efficiency_gain' .* must be >= 1"),
        ({"pay_share": 1.5}, "'pay_share'"),
        ({"vendor_financing": -1.0}, "'vendor_financing' must be finite and >= 0"),
    ],
)
def test_assumptions_are_validated(kwargs, match):
    with pytest.raises(ScalingError, match=match):
        econ.FleetAssumptions(**kwargs)


def test_inputs_are_validated():
    with pytest.raises(ScalingError, match="consecutive whole years"):
        econ.evaluate_commitments(np.ones((3, 2)), [2027, 2027.5], [1.0, 0.0])
    with pytest.raises(ScalingError, match="'arrivals' must be 2 finite capex values"):
        econ.evaluate_commitments(np.ones((3, 2)), [2027, 2028], [1.0, -1.0])
    with pytest.raises(ScalingError, match="non-negative"):
        econ.compare_policies(-np.ones((3, 2)), [2027, 2028])
    with pytest.raises(ScalingError, match="'chosen' policy 'yolo'"):
        econ.compare_policies(np.ones((3, 2)), [2027, 2028], chosen=("yolo", 1.0))
    with pytest.raises(ScalingError, match="'correlation' parameter of correlated_paths"):
        econ.correlated_paths(np.ones((3, 2)), 0.5, [2027, 2028], correlation=1.5)
    with pytest.raises(ScalingError, match="'walk_sd'"):
        econ.path_scatter(3, [2027, 2028], walk_sd=-0.1)


# ----------------------------------------------------------------------------- shipped forecast
@pytest.fixture(scope="module")
def shipped():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = econ.run_plan(horizon=2029.0, sampler={"num_warmup": 500, "num_samples": 1000}, seed=0)
    return r, econ.plan_policies(r)


def test_end_to_end_on_shipped_data(shipped, tmp_path):
    r, _ = shipped
    der = r.tree["derived"]
    for name in ("capability", "revenue", "naive_revenue", "affordable_capex_demand", "p_cannot_pay"):
        assert name in der, name
    assert der["revenue"].dims == ("sample", "year") and der.sizes["sample"] >= 1000
    assert "revenue_elasticity" in r.tree["revenue_mapping"]
    assert float(r.tree["revenue_mapping"]["revenue_elasticity"].median()) > 0  # revenue rises with capability
    first = r.cone.iloc[0]
    assert first["revenue_p10"] < first["revenue_p50"] < first["revenue_p90"]
    assert 1e9 < first["naive_p50"] < 1e11  # 2026 run-rate of a lab growing ~10x a year from $4B mid-2025
    assert 0 < r.plan.affordable_commitment < r.plan.newsvendor_commitment
    from scaling.io import save

    save(r.tree, tmp_path / "plan.nc")
    assert "derived" in xr.load_datatree(tmp_path / "plan.nc", engine="h5netcdf").children


def test_paths_on_the_shipped_forecast(shipped):
    r, tree = shipped
    der = r.tree["derived"]
    assert der["revenue_path"].dims == ("sample", "year")
    # the same yearly marginals as the cone within sampling error
    lp, lc = np.log(der["revenue_path"].values[:, -1]), np.log(der["revenue"].values[:, -1])
    assert np.median(lp) == pytest.approx(np.median(lc), abs=0.15)
    assert list(tree["schedule"]["year"].values) == [2027.0, 2028.0, 2029.0]


def test_200b_plan_is_riskier_than_the_10th_percentile_rule(shipped):
    """$200B of capex arriving in 2027 needs $200B of revenue a year in 2027-2029 at 80% margin.

    On the shipped forecast (seed 0, 500 + 500 draws) P(cannot pay) is about 0.30, against about
    0.06 for the 10th-percentile rule, which commits $41B for 2027 (p10 of 2027 revenue, $72B).
    """
    r, tree = shipped
    der = r.tree["derived"]
    years = tree["schedule"]["year"].values
    cols = [int(np.argmin(np.abs(der["year"].values - y))) for y in years]
    paths = der["revenue_path"].values[:, cols]
    big = econ.evaluate_commitments(paths, years, [200e9, 0, 0])
    np.testing.assert_allclose(big["required_revenue"].values, [200e9] * 3)
    assert big.attrs["peak_required_revenue"] == pytest.approx(200e9)
    rule = tree["policies"].to_dataset().sel(policy="percentile", level=3)
    assert rule["knob"].item() == 10.0
    p_big, p_rule = big.attrs["p_cannot_pay"], rule["p_cannot_pay"].item()
    assert p_rule == pytest.approx(0.06, abs=0.04)
    assert p_big == pytest.approx(0.30, abs=0.08)
    assert p_big > 3 * p_rule


def test_fleet_figures(tmp_path):
    from matplotlib.figure import Figure

    from scaling.plots import plot_fleet_fan, plot_risk_growth, save_figure

    mu = 20e9 * 3.0 ** np.arange(5)[None, :] * np.ones((500, 1))
    tree = econ.compare_policies(econ.correlated_paths(mu, 0.6, YEARS5, seed=4), YEARS5)
    rg = plot_risk_growth(tree)
    assert isinstance(rg, Figure)
    ax = rg.axes[0]
    assert ax.get_ylabel() == "P(cannot pay in some year)" and ax.get_xscale() == "symlog"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:5] == list(econ.POLICIES) and "frontier" in labels and "chosen: percentile 10" in labels
    fan = plot_fleet_fan(tree)
    assert len(fan.axes) == 2 and "P(cannot pay)" in fan.axes[0].get_title()
    assert all(p.endswith(".png") for p in save_figure(fan, tmp_path / "fan"))
    with pytest.raises(ScalingError, match="compare_policies"):
        plot_risk_growth(econ.evaluate_commitments(mu, YEARS5, [1e9] * 5))


# ----------------------------------------------------------------------------- spec, report, CLI
SPEC = (
    '[data]\nsource = "time_horizons"\n[model]\nlaw = "exponential_trend"\nx = ["release_date"]\ny = "p50_minutes"\n'
    "[plan]\nstart = 2026\nhorizon = 2030\n"
)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            SPEC.replace("[plan]\nstart = 2026\nhorizon = 2030\n", "") + "[fleet]\n",
            r"s\.toml: \[fleet\] needs a \[plan\]",
        ),
        (SPEC + '[fleet]\npolicy = "yolo"\n', r"s\.toml: \[fleet\] policy must be one of percentile, median"),
        (SPEC + "[fleet]\nyears = 5\n", r"s\.toml: \[fleet\] years: 5 years of arrivals from 2027 run to 2031"),
        (SPEC + "[fleet]\ncorrelation = 1.5\n", r"s\.toml: \[fleet\]: The 'correlation' parameter of \[fleet\]"),
        (SPEC + "[fleet]\nlead_time = 1.5\n", r"s\.toml: \[fleet\] lead_time must be an int"),
        (SPEC + "[fleet]\nefficiency_gain = 0.5\n", r"s\.toml: \[fleet\]: FleetAssumptions: 'efficiency_gain'"),
        (SPEC + "[fleet]\nyears = 2\nvendor_year = 2\n", r"s\.toml: \[fleet\] vendor_year 2 is past"),
        (SPEC + "[fleet]\nfuel = 1\n", r"s\.toml: unknown key 'fuel' in \[fleet\]"),
    ],
)
def test_fleet_spec_errors_name_the_key_and_file(tmp_path, text, match):
    from scaling.errors import SpecError
    from scaling.studies import load_spec

    (tmp_path / "s.toml").write_text(text)
    with pytest.raises(SpecError, match=match):
        load_spec(tmp_path / "s.toml")


def test_fleet_spec_defaults(tmp_path):
    from scaling.studies import load_spec
    from scaling.studies.spec_tables import fleet_assumptions

    (tmp_path / "s.toml").write_text(SPEC + "[fleet]\nyears = 4\nvendor_financing = 10e9\n")
    spec = load_spec(tmp_path / "s.toml")
    assert spec["fleet"] == {
        "years": 4,
        "vendor_financing": 10e9,
        "correlation": 0.9,
        "walk_sd": 0.0,
        "policy": "percentile",
        "knob": 10.0,
    }
    a = fleet_assumptions(spec)
    assert (a.gross_margin, a.lead_time, a.vendor_financing) == (0.8, 1, 10e9)


def test_report_section_and_files(shipped, tmp_path):
    from scaling.studies.plan_outputs import fleet_section, save_fleet

    _, tree = shipped
    figs = save_fleet(tree, tmp_path)
    for name in ("fleet.nc", "policies.csv", "policy_table.csv", "risk_growth.png", "fleet_fan.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    table = econ.policy_table(tree)
    assert list(table["policy"]) == ["percentile 10", "percentile 50", "naive 50", "newsvendor 1", "growth 2"]
    assert "E idle capacity ($B)" in table.columns
    assert table["P(cannot pay)"].iloc[0] == pytest.approx(tree["policies"]["p_cannot_pay"].values[0, 3])
    html = fleet_section(tree, figs, "revenue paths: correlated 0.9")
    assert "<h3>Compute commitments over years</h3>" in html and "10th-percentile rule: P(cannot pay" in html
    assert html.count("<img") == 2 and "revenue turned away" in html and "no re-planning" in html


def test_cli_plan_years(shipped, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import scaling.planning.pipeline
    from scaling.cli import app

    seen = {}

    def fitted(**kw):
        seen.update(kw)
        return shipped[0]

    monkeypatch.setattr(scaling.planning.pipeline, "run_plan", fitted)
    result = CliRunner().invoke(app, ["plan", "--years", "2", "--horizon", "2029", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert seen["path_correlation"] == 0.9 and seen["horizon"] == 2029.0
    text = " ".join(result.output.split())
    assert "compute commitments over years (arrivals 2028-2029)" in text and "10th-percentile rule" in text
    assert (tmp_path / "risk_growth.png").stat().st_size > 0 and (tmp_path / "plan.nc").exists()
    result = CliRunner().invoke(app, ["plan", "--years", "0", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "--years must be >= 1" in result.output


def test_run_plan_checks_the_path_parameters_before_fitting(monkeypatch):
    import scaling.analysis.forecasting

    def no_fit(*args, **kw):
        raise AssertionError("run_plan started fitting before checking its inputs")

    monkeypatch.setattr(scaling.analysis.forecasting, "forecast", no_fit)
    with pytest.raises(ScalingError, match="'correlation' parameter of run_plan"):
        econ.run_plan(path_correlation=1.2)
    with pytest.raises(ScalingError, match="'walk_sd' parameter of run_plan"):
        econ.run_plan(path_walk_sd=-1.0)


def test_plan_policies_years(shipped):
    r, _ = shipped
    two = econ.plan_policies(r, years=2)
    assert list(two["schedule"]["year"].values) == [2027.0, 2028.0]
    with pytest.raises(ScalingError, match="4 years of arrivals from 2027 need the cone to 2030; it ends in 2029"):
        econ.plan_policies(r, years=4)
