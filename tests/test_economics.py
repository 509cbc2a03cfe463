"""Capability -> revenue -> compute plan: closed forms, monotonicity, validation, end to end."""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scaling import planning as econ
from scaling.checks import GROSS_MARGIN_RULE
from scaling.cli import app
from scaling.errors import ScalingError
from scaling.studies.spec import SpecError, load_spec

from .conftest import PLAN_OUTPUTS


def test_anchor_20b_of_compute_supports_100b_revenue():
    assert econ.supported_revenue(20e9, gross_margin=0.8) == pytest.approx(100e9)
    assert econ.affordable_compute(100e9, gross_margin=0.8) == pytest.approx(20e9)
    assert econ.annual_cost_rate(5.0) == pytest.approx(0.2)  # 1 GW ~ $50B over 5 years ~ $10B a year
    assert 50e9 * econ.annual_cost_rate(5.0) == pytest.approx(10e9)
    assert econ.annual_cost_rate(5.0, efficiency_gain=1.4) == pytest.approx(1 - 1 / 1.4)


def test_degenerate_revenue_gives_closed_forms():
    r, g, s, d = 100e9, 0.8, 0.5, 0.25
    p = econ.plan_year(np.full(1000, r), year=2028, gross_margin=g, compute_share=s, amortisation_years=4)
    expected = s * (1 - g) * r / d
    assert p.affordable_commitment == pytest.approx(expected)
    assert p.newsvendor_commitment == pytest.approx(expected)
    assert p.critical_fractile == pytest.approx((g * d / (s * (1 - g))) / (g * d / (s * (1 - g)) + d))
    curve = econ.plan_year(
        np.full(10, r),
        year=2028,
        gross_margin=g,
        compute_share=s,
        amortisation_years=4,
        commitments=[0.5 * expected, 2 * expected],
    ).curve
    assert list(curve["p_cannot_pay"]) == [0.0, 1.0]
    assert curve["expected_revenue_lost"].iloc[0] == pytest.approx(0.5 * expected * d / (s * (1 - g)))
    assert curve["expected_idle_cost"].iloc[1] == pytest.approx(expected * d)


def test_newsvendor_matches_brute_force():
    rng = np.random.default_rng(0)
    revenue = np.exp(rng.normal(np.log(50e9), 0.6, size=20000))
    p = econ.plan_year(revenue, year=2028, commitments=np.linspace(0, 200e9, 2001))
    best = p.curve.loc[p.curve["expected_cost"].idxmin(), "commitment"]
    assert best == pytest.approx(p.newsvendor_commitment, rel=0.03)


def test_affordable_commitment_is_monotone():
    rng = np.random.default_rng(1)
    revenue = np.exp(rng.normal(np.log(50e9), 0.8, size=5000))
    by_pct = [econ.plan_year(revenue, year=2028, percentile=q).affordable_commitment for q in (5, 10, 25, 50)]
    assert np.all(np.diff(by_pct) > 0)
    by_margin = [econ.plan_year(revenue, year=2028, gross_margin=g).affordable_commitment for g in (0.5, 0.7, 0.9)]
    assert np.all(np.diff(by_margin) < 0)  # higher margin: less of revenue is cost of revenue to spend
    by_revenue = [econ.plan_year(revenue * k, year=2028).affordable_commitment for k in (1, 2, 4)]
    assert np.all(np.diff(by_revenue) > 0)
    by_depreciation = [
        econ.plan_year(revenue, year=2028, efficiency_gain=q).affordable_commitment for q in (1.0, 1.4, 2.0)
    ]
    assert np.all(np.diff(by_depreciation) <= 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"gross_margin": 1.2}, "plan_year: 'gross_margin' must be in \\(0, 1\\)"),
        ({"gross_margin": 0.0}, "'gross_margin'"),
        ({"compute_share": -0.1}, "'compute_share'"),
        ({"percentile": 0}, "'percentile' parameter of plan_year must be in \\(0, 100\\)"),
        ({"percentile": 100}, "'percentile'"),
        ({"lead_time": -1}, "'lead_time' parameter of plan_year must be >= 0"),
        ({"amortisation_years": 0}, "'amortisation_years'"),
        ({"underbuy_cost": -1.0}, "'underbuy_cost'"),
        ({"commitments": [-5.0]}, "commitments"),
    ],
)
def test_input_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        econ.plan_year(np.full(10, 1e9), year=2028, **kwargs)
    with pytest.raises(ValueError, match="non-negative"):
        econ.plan_year(np.array([1e9, -1.0]), year=2028)


@pytest.mark.parametrize("g", [1.0, 0.0, 1.5, -0.2, float("nan")])
def test_one_gross_margin_rule_for_the_library_the_spec_and_the_cli(g, tmp_path):
    rule = re.escape(GROSS_MARGIN_RULE)
    with pytest.raises(ScalingError, match=rf"plan_year: 'gross_margin' must be {rule}"):  # 1.0 divided by zero
        econ.plan_year(np.full(10, 1e9), year=2028, gross_margin=g)
    calls = {
        "affordable_compute": lambda: econ.affordable_compute(1e9, gross_margin=g),
        "supported_revenue": lambda: econ.supported_revenue(2e8, gross_margin=g),
        "generation_pnl": lambda: econ.generation_pnl(
            np.ones((3, 2)), np.array([2026, 2027]), first_year=2026, gross_margin=g
        ),
        "FleetAssumptions": lambda: econ.FleetAssumptions(gross_margin=g),
    }
    for where, call in calls.items():
        with pytest.raises(ScalingError, match=rf"{where}: 'gross_margin' must be {rule}"):
            call()
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[data]\nsource = "time_horizons"\nwhere = "frontier == 1"\n[model]\nlaw = "exponential_trend"\n'
        f'x = ["release_date"]\ny = "p50_minutes"\n[plan]\ngross_margin = {g!r}\n'
    )
    with pytest.raises(SpecError, match=rf"s\.toml: \[plan\] gross_margin must be {rule}; got"):
        load_spec(spec)
    result = CliRunner().invoke(app, ["plan", "--gross-margin", str(g), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert f"run_plan: 'gross_margin' must be {GROSS_MARGIN_RULE}" in " ".join(result.output.split())


def test_cli_help_states_the_gross_margin_rule():
    result = CliRunner().invoke(app, ["plan", "--help"], env={"COLUMNS": "400", "TERM": "dumb"})
    assert " ".join(GROSS_MARGIN_RULE.split()[:4]) in " ".join(result.output.split())


def test_scenario_mapping():
    cap = np.array([[60.0, 120.0, 240.0]])
    r = econ.scenario_revenue(cap, revenue_at=4e9, capability_at=60.0, factor_per_doubling=3.0)
    np.testing.assert_allclose(r[0], [4e9, 12e9, 36e9])
    spread = econ.scenario_revenue(
        np.tile(cap, (4000, 1)), revenue_at=4e9, capability_at=60.0, factor_per_doubling=3.0, factor_sd=0.3, sigma=0.2
    )
    assert np.median(spread[:, 2]) == pytest.approx(36e9, rel=0.05) and spread[:, 2].std() > 0
    with pytest.raises(ValueError, match="'factor_per_doubling'"):
        econ.scenario_revenue(cap, revenue_at=4e9, capability_at=60.0, factor_per_doubling=-2)


def test_generation_pnl():
    years = np.array([2026.0, 2027.0, 2028.0])
    revenue = np.full((10, 3), 2e8 / 0.8)  # gross profit $0.2B a year
    pnl = econ.generation_pnl(revenue, years, first_year=2026, first_cost=1e8, cost_growth=10, gross_margin=0.8)
    assert list(pnl["generation"]) == [0, 1]  # generation 2 would sell in 2029, past the cone
    assert pnl.loc[0, "generation_profit_p50"] == pytest.approx(2e8 - 1e8)  # $0.1B model earning $0.2B
    assert pnl.loc[0, "company_pnl_p50"] == pytest.approx(2e8 - 1e9)  # while the next costs $1B
    assert pnl.loc[0, "p_company_profitable"] == 0.0
    assert "does not break even" in econ.breakeven(pnl)
    richer = econ.generation_pnl(revenue * 100, years, first_year=2026, first_cost=1e8, cost_growth=10)
    assert "breaks even from the generation trained in 2026" in econ.breakeven(richer)


def test_cli_plan(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        args = ["plan", "--horizon", "2029", "--num-warmup", "500", "--num-samples", "1000", "--out", str(tmp_path)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "largest commitment affordable at p10" in text and "revenue mapping" in text
    for name in PLAN_OUTPUTS:
        assert (tmp_path / name).stat().st_size > 0, name
    assert set(pd.read_csv(tmp_path / "cone.csv").columns) >= {"year", "revenue_p10", "revenue_p50", "naive_p50"}
    result = CliRunner().invoke(app, ["plan", "--gross-margin", "1.5", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "gross_margin" in result.output


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"compute_share": 2.0}, "'compute_share' parameter of run_plan"),
        ({"efficiency_gain": 0.5}, "'efficiency_gain'"),
        ({"amortisation_years": 0}, "'amortisation_years'"),
        ({"first_cost": -1.0}, "'first_cost' parameter of run_plan"),
        ({"cost_growth": 0.0}, "'cost_growth' parameter of run_plan"),
    ],
)
def test_run_plan_checks_its_inputs_before_fitting(monkeypatch, kwargs, match):
    import scaling.analysis.forecasting

    def no_fit(*args, **kw):
        raise AssertionError("run_plan started fitting before checking its inputs")

    monkeypatch.setattr(scaling.analysis.forecasting, "forecast", no_fit)
    with pytest.raises(ValueError, match=match):
        econ.run_plan(**kwargs)


def test_run_plan_passes_fitted_shapes_to_the_forecast(monkeypatch):
    import scaling.analysis.forecasting

    seen = {}

    class Stop(Exception):
        pass

    def spy(*args, **kw):
        seen.update(kw)
        raise Stop

    monkeypatch.setattr(scaling.analysis.forecasting, "forecast", spy)
    with pytest.raises(Stop):
        econ.run_plan(fits={"exponential_trend": "already fitted"})
    assert seen["fits"] == {"exponential_trend": "already fitted"}
