"""Report sections of the capability-index study (:mod:`scaling.studies.capability_study`): index vs
date with the forecast of a level, index vs compute, and the held-out checks of the index."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DATE_SHAPES = ("exponential_trend", "quadratic_trend")


def date_section(spec: dict[str, Any], thetas: pd.DataFrame, sampler: dict[str, Any], tmp: Path) -> tuple[str, str]:
    """Index vs release date (trend shapes stacked, theta's sd of ``ln theta`` as known error) and
    when the index reaches ``[forecast] threshold``; writes ``forecast_quantiles.csv``,
    ``crossing_quantiles.csv``, ``trend_crossing_quantiles.csv``, ``fan.png``."""
    from scaling import plots
    from scaling.analysis.forecasting import forecast
    from scaling.errors import DataError
    from scaling.infer.bayes import fit
    from scaling.studies import report

    f = spec.get("forecast", {})
    data = thetas.dropna(subset=["date"])
    settings = {k: v for k, v in sampler.items() if k != "seed"}
    seed, fits, left_out = sampler.get("seed", 0), {}, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for shape in f.get("shapes", DATE_SHAPES):  # fitted here: the forecast's own fits know no y_err
            try:
                fits[shape] = fit(data, shape, x="date", y="theta", y_err="log_sd", sampler=settings, seed=seed)
            except DataError as e:
                left_out.append(f"shape {shape} left out: {e}")
        fc = forecast(data, x="date", y="theta", threshold=f.get("threshold"), horizon=f.get("horizon", 2030),
                      direction=f.get("direction", "up"), shapes=tuple(fits), fits=fits, sampler=settings,
                      seed=seed)  # fmt: skip
    fc.assumptions += left_out
    qt = fc.quantile_table()
    qt.to_csv(tmp / "forecast_quantiles.csv", index=False)
    fan = plots.plot_fan(fc, log_y=False)
    plots.save_figure(fan, tmp / "fan", formats=("png",))
    body = report.paragraph(
        f"{len(data)} models' index (posterior median) against release date; each model's sd of ln theta "
        "enters as known measurement error (errors-in-variables, added in quadrature to the trend's scatter)."
    )
    body += report.bullets(fc.assumptions) + report.figure_tag(fan, "index vs date: fan chart")
    body += report.table_html(qt, False)
    body = report.forecast_answers(fc, body, tmp)
    return "Index vs release date: when does it reach the level?", body


def compute_section(thetas: pd.DataFrame, sampler: dict[str, Any], tmp: Path) -> tuple[str, str]:
    """Index vs training compute: ``power_law`` (negative exponent) with the same known errors."""
    from scaling import plots
    from scaling.analysis.tables import summary
    from scaling.infer.bayes import fit
    from scaling.studies import report

    data = thetas.dropna(subset=["training_flop"])
    if len(data) < 5:
        return "Index vs training compute", report.paragraph(
            f"only {len(data)} models have a training-compute figure; no fit.", "unreliable"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        law = fit(data, "power_law", x="training_flop", y="theta", y_err="log_sd", **sampler)
    table = summary(law)
    table.to_csv(tmp / "compute_summary.csv", index_label="parameter")
    fig = plots.plot_fit(law)
    plots.save_figure(fig, tmp / "compute_fit", formats=("png",))
    alpha = law["posterior"]["alpha"].values
    body = report.paragraph(
        f"{len(data)} models with a training-compute figure: index = A x FLOP^(-alpha); "
        f"-alpha (the index's log-log slope) median {-np.median(alpha):.4f}, "
        f"95% interval [{-np.quantile(alpha, 0.975):.4f}, {-np.quantile(alpha, 0.025):.4f}]."
    )
    return "Index vs training compute", body + report.figure_tag(fig, "index vs compute") + report.table_html(table)


def checks_section(spec: dict[str, Any], df: pd.DataFrame, fit_kw: dict[str, Any], tmp: Path) -> tuple[str, str]:
    """Leave-future-out and leave-one-benchmark-out scores of the index; writes ``heldout_scores.csv``."""
    from scaling.analysis.capability_checks import leave_future_out, leave_one_benchmark_out
    from scaling.studies import report

    ix = spec["index"]
    rows, parts = [], []
    cutoff = ix.get("lfo_cutoff")
    if cutoff:
        lfo, _, _ = leave_future_out(df, cutoff, **fit_kw)
        rows.append({"check": f"leave-future-out (released on or after {cutoff}, half their scores shown)", **lfo})
    lobo = [b for b in ix.get("lobo", []) if b in set(df["benchmark"])]
    if lobo:
        per, _ = leave_one_benchmark_out(df, lobo, **fit_kw)
        for r in per.to_dict("records"):
            rows.append({"check": f"leave-one-benchmark-out: {r.pop('benchmark')} (4 scores shown)", **r})
    if not rows:
        return "Held-out checks", report.paragraph("none asked ([index] lfo_cutoff, lobo).")
    table = pd.DataFrame(rows)
    table.to_csv(tmp / "heldout_scores.csv", index=False)
    parts.append(
        report.paragraph(
            "Coverage of the central 50/80/95% posterior-predictive intervals of the hidden scores (nominal "
            "0.5/0.8/0.95) and CRPS (score units, lower is better)."
        )
    )
    return "Held-out checks", "".join(parts) + report.table_html(table.round(3), False)
