"""Fit specs and `scaling run`: shipped studies, reuse, spec errors, interrupted runs."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

from scaling.cli import app
from scaling.studies import run_spec
from scaling.studies.spec import SpecError, load_spec

from .conftest import PLAN_OUTPUTS, REPO

FAST = {"sampler": {"num_warmup": 300, "num_samples": 500, "num_chains": 4}}
# a [plan]'s revenue mapping is a 5-point fit whose sigma reaches towards 0: with 300 warm-up steps
# only 3-5 seeds in 8 pass the diagnostics gate, with the shipped 1,000 + 1,000 every one of 10
PLAN_FAST = {"sampler": {"num_warmup": 1000, "num_samples": 1000, "num_chains": 4}}
# an [index] study in its small mode: the 6 most-scored hub benchmarks, leave-future-out kept, no
# leave-one-benchmark-out, one trend shape (the full study's numbers are in bench/capability.md)
INDEX_FAST = {
    "sampler": {"num_warmup": 150, "num_samples": 300, "num_chains": 2},
    "index": {"top_benchmarks": 6, "lobo": []},
    "forecast": {"threshold": 160, "horizon": 2030, "shapes": ["exponential_trend"]},
}
SPECS = sorted((REPO / "fits").glob("*.toml"))


def fast(spec: Path) -> dict:
    parsed = load_spec(spec)
    return PLAN_FAST if "plan" in parsed else INDEX_FAST if "index" in parsed else FAST


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_shipped_spec_runs_and_reports(spec, tmp_path):
    out = run_spec(spec, out=tmp_path / spec.stem, overrides=fast(spec))
    for name in ("fit.nc", "summary.csv", "diagnostics.json", "fit.png", "fit.pdf", "report.html", "spec.json"):
        assert (out / name).stat().st_size > 0, name
    for name in ("trace.png", "trace.pdf", "rank.png", "rank.pdf"):  # the appendix's sampler diagnostics
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    for heading in ("Data", "Fit", "Diagnostics gate", "Appendix: sampler diagnostics", "Provenance"):
        assert f"<h2>{heading}</h2>" in html
    assert html.index("<h2>Appendix: sampler diagnostics</h2>") < html.index("<h2>Provenance</h2>")
    assert "data:image/png;base64," in html  # self-contained
    parsed = load_spec(spec)
    if "returns" in parsed:
        assert "Are returns diminishing?" in html and (out / "returns.json").exists()
        if json.loads((out / "returns.json").read_text())["category"] != "unreliable":
            assert (out / "elasticity.png").stat().st_size > 0 and (out / "elasticity.pdf").exists()
    if "forecast" in parsed:
        assert (out / "fan.png").exists() and (out / "crossing_quantiles.csv").exists()
    if "index" in parsed:  # the capability index: ECI agreement, index vs date and compute, held-out scores
        for heading in ("Agreement with the ECI", "Index vs training compute", "Held-out checks"):
            assert f"<h2>{heading}</h2>" in html, heading
        held = pd.read_csv(out / "heldout_scores.csv")
        assert held["check"].str.startswith("leave-future-out").any() and held["crps"].gt(0).all()
        theta = pd.read_csv(out / "theta.csv")
        assert theta["log_sd"].gt(0).all() and theta["training_flop"].notna().sum() >= 5
    if "compare" in parsed:  # at these short test settings a shape may fail the gate: then no numbers, and why
        if (out / "comparison.csv").exists():
            assert (out / "comparison.png").stat().st_size > 0 and (out / "comparison.pdf").exists()
        else:
            assert "comparison unreliable:" in html and "failed diagnostics" in html
    if "plan" in parsed:
        for name in PLAN_OUTPUTS:
            assert (out / name).stat().st_size > 0, name
        assert "<h2>Revenue cone and compute plan</h2>" in html and "largest commitment affordable" in html
        assert set(pd.read_csv(out / "cone.csv").columns) >= {"year", "revenue_p10", "revenue_p50", "naive_p50"}
        tree = xr.load_datatree(out / "plan.nc", engine="h5netcdf")
        assert tree["derived"]["revenue"].dims == ("sample", "year")


def test_reuse_and_force(tmp_path):
    spec = write(tmp_path, BASE)
    out = run_spec(spec, out=tmp_path / "r", overrides=FAST)
    stamp = (out / "fit.nc").stat().st_mtime_ns
    run_spec(spec, out=out, overrides=FAST)
    assert (out / "fit.nc").stat().st_mtime_ns == stamp  # unchanged spec and data: reused
    run_spec(spec, out=out, overrides=FAST, force=True)
    assert (out / "fit.nc").stat().st_mtime_ns != stamp
    run_spec(spec, out=out, overrides={"sampler": {**FAST["sampler"], "seed": 1}})
    assert json.loads((out / "spec.json").read_text())["spec"]["sampler"]["seed"] == 1  # changed spec: refitted


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


BASE = '[data]\nsource = "time_horizons"\n[model]\nlaw = "exponential_trend"\nx = ["release_date"]\ny = "p50_minutes"\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (BASE.replace("exponential_trend", "kaplan_law"), r"s\.toml: \[model\] law: unknown law 'kaplan_law'"),
        (BASE + "[sampler]\nnum_samples = -5\n", r"s\.toml: \[sampler\] num_samples must be an int >= 1; got -5"),
        (
            BASE + '[model.priors]\ngrowth = {dist = "Gauss", loc = 0, scale = 1}\n',
            r"s\.toml: \[model\]: Unknown prior distribution 'Gauss'",
        ),
        (
            BASE + '[model.priors]\nslope = {dist = "Normal", loc = 0, scale = 1}\n',
            r"s\.toml: \[model\]: .*\['slope'\] do not name parameters",
        ),
        (BASE + "[sampler]\nchains = 4\n", r"unknown key 'chains' in \[sampler\]"),
        (BASE + "[plots]\nsize = 1\n", r"unknown table \[plots\]"),
        (BASE.replace('"time_horizons"', '"missing.csv"'), r"\[data\] source 'missing.csv' is neither"),
        (BASE + '[sampler]\nnum_warmup = "many"\n', r"\[sampler\] num_warmup must be an int"),
        (BASE + "[plan]\npercentile = 150\n", r"s\.toml: \[plan\] percentile must be in \(0, 100\); got 150\."),
        (BASE + "[plan]\ngross_margin = 1.2\n", r"s\.toml: \[plan\] gross_margin must be in \(0, 1\)"),
        (BASE + "[plan]\nlead_time = -1\n", r"s\.toml: \[plan\] lead_time must be >= 0"),
        (BASE + "[plan]\nefficiency_gain = 0.5\n", r"s\.toml: \[plan\] efficiency_gain must be >= 1"),
        (BASE + '[plan]\nstart = "soon"\n', r"s\.toml: \[plan\] start must be a number; got 'soon'"),
        (BASE + "[plan]\nhorizon = 2027\n", r"s\.toml: \[plan\] horizon must be after start \+ lead_time"),
        (BASE + "[plan]\nfuel = 1\n", r"s\.toml: unknown key 'fuel' in \[plan\]"),
        (
            BASE + '[plan]\ncompany = "Acme"\n',
            r"s\.toml: \[plan\] company 'Acme' is not in the revenue table lab_revenue; its companies: OpenAI",
        ),
        (BASE + '[plan]\ncompany = "xAI"\n', r"s\.toml: \[plan\] company: 'xAI' has 1 run-rate revenue report"),
        (BASE + '[plan]\nrevenue = "nowhere.csv"\n', r"s\.toml: \[plan\] revenue 'nowhere.csv' is neither"),
        (BASE + '[plan]\nshapes = ["power_law"]\n', r"s\.toml: \[plan\] shapes: 'power_law' is not a date trend law"),
        (
            BASE.replace("exponential_trend", "power_law") + "[plan]\n",
            r"s\.toml: \[model\] law: a \[plan\] study .* needs a date trend law .*; got 'power_law'",
        ),
        (
            BASE.replace('x = ["release_date"]', 'x = ["release_date", "p80_minutes"]') + "[plan]\n",
            r"s\.toml: \[model\] x: a \[plan\] study needs one date column",
        ),
        (BASE.replace('y = "p50_minutes"\n', "") + "[plan]\n", r"s\.toml: \[model\] is missing the required key 'y'"),
    ],
)
def test_spec_errors_name_the_key_and_file(tmp_path, text, match):
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, text))


def test_missing_column_names_spec_and_column(tmp_path):
    spec = write(tmp_path, BASE.replace('y = "p50_minutes"', 'y = "p99_minutes"'))
    with pytest.raises(SpecError, match=r"s\.toml: \[data\]/\[model\]: .*\['p99_minutes'\] not found"):
        run_spec(spec, out=tmp_path / "o", overrides=FAST)
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "p99_minutes" in result.output


def test_killed_run_leaves_previous_outputs_intact(tmp_path):
    spec = write(tmp_path, BASE)
    out = run_spec(spec, out=tmp_path / "keep", overrides=FAST)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code = f"import sys; from scaling.studies import run_spec; run_spec({str(spec)!r}, out={str(out)!r}, force=True)"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".keep.tmp-*/fit.nc")):
        time.sleep(0.05)  # kill it mid-way: after it started writing its new outputs
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before
    run_spec(spec, out=out, overrides=FAST)  # the next run cleans up what the killed one left
    assert not list(tmp_path.glob(".keep.tmp-*"))


def test_plan_errors_at_run_time_name_the_spec_and_plan(tmp_path):
    bad = tmp_path / "revenue.csv"  # passes the spec checks (4 run-rate reports), fails the revenue fit
    rows = [f"Acme,202{i}-06-30,{v},run-rate" for i, v in enumerate([1e8, 2e8, -3e8, 8e8])]
    bad.write_text("company,date,revenue_usd,kind\n" + "\n".join(rows) + "\n")
    spec = write(tmp_path, BASE + '[plan]\nrevenue = "revenue.csv"\ncompany = "Acme"\nshapes = ["exponential_trend"]\n')
    with pytest.raises(SpecError, match=r"s\.toml: \[plan\]: .*revenue_usd"):
        run_spec(spec, out=tmp_path / "o", overrides=FAST)
    assert not (tmp_path / "o").exists() and not list(tmp_path.glob(".o.tmp-*"))
