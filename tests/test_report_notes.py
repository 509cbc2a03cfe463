"""A study report's Data section lists the data's own notes only: the fit's notices and its
excluded rows, one line per reason, never warnings or log lines of other libraries."""

from __future__ import annotations

import html
import re
import warnings

import pandas as pd

import scaling.infer.bayes
from scaling.studies import run_spec

SPEC = """
[data]
source = "time_horizons"
where = "frontier == 1"
[model]
law = "exponential_trend"
x = ["release_date"]
y = "p50_minutes"
[sampler]
num_warmup = 300
num_samples = 300
num_chains = 2
"""


def test_data_section_has_the_fit_notes_only(tmp_path, monkeypatch):
    real_fit = scaling.infer.bayes.fit

    def fit_with_a_foreign_warning(*args, **kwargs):
        warnings.warn("Error reading persistent compilation cache entry for 'jit_sample'", UserWarning, stacklevel=1)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(scaling.infer.bayes, "fit", fit_with_a_foreign_warning)
    (tmp_path / "s.toml").write_text(SPEC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = run_spec(tmp_path / "s.toml", out=tmp_path / "out")
    page = (out / "report.html").read_text()
    data = page[page.index("<h2>Data</h2>") : page.index("<h2>Fit</h2>")]
    notes = [html.unescape(n) for n in re.findall(r"<li>(.*?)</li>", data)]
    table = pd.read_csv(scaling.datasets.locate("time_horizons"))
    left_out = [i for i, f in enumerate(table["frontier"], start=1) if f != 1]  # rows count from 1 (the header is 0)
    assert len(left_out) > 1
    shown = ", ".join(str(r) for r in left_out[:12]) + (", ..." if len(left_out) > 12 else "")
    assert notes == [f"excluded {len(left_out)} row(s): not selected by where='frontier == 1' (rows {shown})"]
    assert "compilation cache" not in page
