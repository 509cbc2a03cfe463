"""Rolling-origin calibration: cutoffs, and the section every study report carries."""

import numpy as np
import pandas as pd

from scaling.studies import run_spec
from scaling.studies.calibration import rolling_cutoffs


def test_rolling_cutoffs_split_between_rows_and_leave_enough_on_each_side():
    x = np.logspace(18, 24, 20)
    cuts = rolling_cutoffs(x, n_params=3)
    assert len(cuts) == 2
    for c, frac in zip(cuts, (0.6, 0.8), strict=True):
        assert int(np.sum(x < c)) == round(frac * 20) and not np.any(np.isclose(x, c))
    dates = np.arange(2015.0, 2025.0, 0.5)
    assert rolling_cutoffs(dates, n_params=3, geometric=False)[0] == 2015.0 + 0.5 * 11.5
    assert rolling_cutoffs(np.arange(5.0), n_params=4) == []  # too few rows to hold any out
    tied = np.array([1.0] * 10 + [2.0] * 10)
    assert all(np.sum(tied < c) not in (0, 20) for c in rolling_cutoffs(tied, n_params=2))


def test_every_study_report_has_a_calibration_section(tmp_path):
    """A power law with known scatter: the report scores Bayes and the point fit on held-out rows."""
    rng = np.random.default_rng(0)
    x = np.logspace(18, 24, 30)
    pd.DataFrame({"flop": x, "loss": 4.0 * (x / 1e18) ** -0.08 * np.exp(0.03 * rng.normal(size=30))}).to_csv(
        tmp_path / "runs.csv", index=False
    )
    (tmp_path / "s.toml").write_text(
        '[data]\nsource = "runs.csv"\n[model]\nlaw = "power_law"\nx = ["flop"]\ny = "loss"\n'
        "[sampler]\nnum_warmup = 300\nnum_samples = 300\nnum_chains = 2\n"
    )
    out = run_spec(tmp_path / "s.toml", out=tmp_path / "out")
    html = (out / "report.html").read_text()
    assert "<h2>Calibration (rolling origin)</h2>" in html and "PIT histogram" in html
    table = pd.read_csv(out / "calibration.csv")
    assert set(table["method"]) == {"bayes", "huber"} and table["cutoff"].nunique() == 2
    assert (table["n_train"] + table["n_test"] == 30).all()
    assert table["coverage_95"].between(0, 1).all() and (table["crps"] < 0.05).all()  # decades of loss
    assert (out / "pit.png").stat().st_size > 0
