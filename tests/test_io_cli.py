"""Save/load, atomic writes, predict, plots and the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from typer.testing import CliRunner

import scaling
from scaling.cli import app
from scaling.io import atomic_write

from .conftest import REPO

TRUTH_DAYS = 210.0


@pytest.fixture(scope="module")
def trend_fit():
    rng = np.random.default_rng(0)
    t = np.linspace(2019, 2025, 25)
    g = 365.25 * np.log(2) / TRUTH_DAYS
    y = 2.0 * np.exp(g * (t - 2019) + 0.2 * rng.normal(size=t.size))
    return scaling.fit(
        {"year": t, "h": y}, "exponential_trend", x="year", y="h", num_warmup=300, num_samples=300, num_chains=2, seed=1
    )


def test_fit_contract(trend_fit):
    dt = trend_fit
    for group in (
        "posterior",
        "sample_stats",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
    ):
        assert group in dt.children, group
    for stat in ("energy", "tree_depth", "step_size", "diverging"):
        assert stat in dt.sample_stats
    spec = json.loads(dt.attrs["spec"])
    assert spec["law"]["name"] == "exponential_trend" and spec["sampler"]["num_chains"] == 2
    assert len(dt.attrs["data_sha256"]) == 64 and dt.attrs["seed"] == 1
    assert json.loads(dt.attrs["versions"])["jax"].startswith("0.")


def test_same_seed_same_result(trend_fit):
    again = scaling.fit(
        {"year": trend_fit.constant_data["t"].values, "h": trend_fit.observed_data["y"].values},
        "exponential_trend",
        x="year",
        y="h",
        num_warmup=300,
        num_samples=300,
        num_chains=2,
        seed=1,
    )
    np.testing.assert_array_equal(again.posterior["growth"].values, trend_fit.posterior["growth"].values)


def test_save_load_round_trip(trend_fit, tmp_path):
    path = scaling.save(trend_fit, tmp_path / "fit.nc")
    back = scaling.load(path)
    assert set(back.children) == set(trend_fit.children)
    assert back.attrs["spec"] == trend_fit.attrs["spec"]
    xr.testing.assert_allclose(back.posterior.to_dataset(), trend_fit.posterior.to_dataset())


def test_atomic_write_keeps_previous_file(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")

    def broken(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, broken)
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def test_predict_and_plot(trend_fit, tmp_path):
    mean = scaling.predict(trend_fit, ["2024-01-01", "2026-01-01"])
    assert mean.dims == ("chain", "draw", "grid") and mean.shape[-1] == 2
    ratio = float((mean[..., 1] / mean[..., 0]).median())
    assert ratio == pytest.approx(2 ** (731 / TRUTH_DAYS), rel=0.25)
    pred = scaling.predict(trend_fit, [2024.0], kind="predictive")
    assert float(pred.std()) > float(scaling.predict(trend_fit, [2024.0]).std())
    fig = scaling.plot_fit(trend_fit, extend=1.0)
    assert fig.axes[0].get_yscale() == "log"
    from scaling.plots import save_figure

    written = save_figure(fig, tmp_path / "f", formats=("png", "svg"))
    assert all((tmp_path / n).stat().st_size > 1000 for n in ("f.png", "f.svg")), written


def test_cli_fit_on_shipped_data(tmp_path):
    out = tmp_path / "res"
    result = CliRunner().invoke(
        app,
        [
            "fit",
            str(REPO / "datasets" / "time_horizons.csv"),
            "--law",
            "exponential_trend",
            "--x",
            "release_date",
            "--y",
            "p50_minutes",
            "--where",
            "frontier == 1",
            "--out",
            str(out),
            "--num-chains",
            "2",
            "--num-warmup",
            "300",
            "--num-samples",
            "300",
            "--figure",
            "png,pdf",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "doubling_time_days" in result.output and "not selected by where" in result.output
    for name in ("fit.nc", "summary.csv", "fit.png", "fit.pdf"):
        assert (out / name).stat().st_size > 0, name
    days = scaling.load(out / "fit.nc").posterior["doubling_time_days"]
    assert 150 < float(days.median()) < 260


def test_cli_point_fit_and_figure_formats(tmp_path):
    """``--method point`` recovers a known power law; ``--figure`` picks the formats (default png only)."""
    x = np.logspace(18, 23, 12)
    p = tmp_path / "d.csv"
    pd.DataFrame({"flop": x, "loss": 40.0 * x**-0.08}).to_csv(p, index=False)
    args = ["fit", str(p), "--law", "power_law", "--x", "flop", "--y", "loss", "--method", "point"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert {f.name for f in (tmp_path / "a").iterdir()} == {"fit.nc", "summary.csv", "fit.png", ".scaling-results"}
    best = scaling.load(tmp_path / "a" / "fit.nc")["point_estimate"]
    assert abs(float(best["alpha"]) - 0.08) < 1e-4
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "b"), "--figure", "none"])
    assert result.exit_code == 0, result.output
    assert {f.name for f in (tmp_path / "b").iterdir()} == {"fit.nc", "summary.csv", ".scaling-results"}
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "c"), "--figure", "png,jpeg"])
    assert result.exit_code != 0 and "--figure" in result.output and not (tmp_path / "c").exists()


def test_console_entry_point_exit_codes(tmp_path):
    """The ``scaling`` entry point (``main``) exits without interpreter teardown: output flushed,
    results written, the command's exit code kept."""
    import subprocess
    import sys

    x = np.logspace(18, 23, 12)
    pd.DataFrame({"flop": x, "loss": 40.0 * x**-0.08}).to_csv(tmp_path / "d.csv", index=False)
    cmd = [sys.executable, "-m", "scaling.cli", "fit", str(tmp_path / "d.csv"), "--law", "power_law", "--x", "flop"]
    ok = subprocess.run([*cmd, "--y", "loss", "--method", "point", "--out", str(tmp_path / "o")],
                        capture_output=True, text=True, timeout=300)  # fmt: skip
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert "alpha" in ok.stdout and "wrote" in ok.stdout
    assert scaling.load(tmp_path / "o" / "fit.nc")["point_estimate"]["alpha"] > 0
    assert (tmp_path / "o" / "fit.png").read_bytes()[:4] == b"\x89PNG"  # drawn by the child main() started
    bad = subprocess.run(
        [*cmd, "--y", "nope", "--out", str(tmp_path / "p")], capture_output=True, text=True, timeout=300
    )
    assert bad.returncode != 0 and "nope" in bad.stderr + bad.stdout
    assert not (tmp_path / "p").exists()


def test_cli_bad_input_exit_code_and_message(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("flop,loss\n1e20,2.0\n1e21,oops\n1e22,1.5\n1e23,1.4\n1e24,1.3\n")
    result = CliRunner().invoke(
        app, ["fit", str(p), "--law", "power_law", "--x", "flop", "--y", "loss", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "row 2 (line 3), column 'loss': expected a number, got 'oops'" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()
    result = CliRunner().invoke(
        app, ["fit", str(p), "--law", "power_law", "--x", "flop", "--y", "loss", "--prior", "alpha=Normal(loc=0"]
    )
    assert result.exit_code == 2 and "NAME=Dist" in result.output
    good = tmp_path / "good.csv"
    good.write_text("flop,loss\n1e20,2.0\n1e21,1.8\n1e22,1.5\n1e23,1.4\n1e24,1.3\n")
    for method in ("nuts", "point"):
        args = ["fit", str(good), "--law", "power_law", "--x", "flop", "--y", "loss", "--device", "tpu0"]
        result = CliRunner().invoke(app, [*args, "--method", method, "--out", str(tmp_path / "d")])
        assert result.exit_code == 2 and "'device' parameter" in result.output and "'accelerator'" in result.output
    assert not (tmp_path / "d").exists()


def test_cli_laws_lists_every_law():
    result = CliRunner().invoke(app, ["laws"])
    assert result.exit_code == 0
    for name in scaling.LAWS:
        assert name in result.output
