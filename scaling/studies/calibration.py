"""Rolling-origin calibration section of a study report: how well did the law extrapolate here?

The study's law is refitted on the rows below each of a few cutoffs along its split axis (the
law's input: compute, or the date for trends; ``6 N D`` for chinchilla) and its predictive
distribution is scored on every row at or above the cutoff (:func:`scaling.backtest`), the
Bayesian fit (``bayes``, the study's likelihood and sampler settings) beside the usual point
fit (``huber``: Huber loss, bootstrap parameters plus residual scatter). Reported: coverage of
the central 50/80/95% intervals (a calibrated forecast matches them), CRPS (log10 units for
positive quantities, lower is better) and a PIT histogram (uniform when calibrated).

Cutoffs (:func:`rolling_cutoffs`): midpoints between sorted split values at 60% and 80% of the
rows, so at least ``k + 2`` rows train (k the law's parameters) and at least 2 test.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from scaling.analysis.backtesting import backtest, pit


def rolling_cutoffs(
    split: np.ndarray, n_params: int, fractions: tuple[float, ...] = (0.6, 0.8), *, geometric: bool = True
) -> list[float]:
    """Cutoffs between sorted split values at ``fractions`` of the rows (see module doc): the geometric
    mean of the two neighbours for compute axes, the arithmetic mean for dates."""
    v = np.sort(np.asarray(split, dtype=float))
    out = []
    for f in fractions:
        i = int(round(f * len(v)))
        while 0 < i < len(v) and v[i - 1] == v[i]:
            i += 1
        if i < n_params + 2 or len(v) - i < 2:
            continue
        c = float(np.sqrt(v[i - 1] * v[i]) if geometric and v[i - 1] > 0 else 0.5 * (v[i - 1] + v[i]))
        if c not in out:
            out.append(c)
    return out


def _split(main: Any) -> np.ndarray | None:
    law = _model(main).law
    const = main["constant_data"]
    if len(law.inputs) == 1:
        return np.asarray(const[law.inputs[0].name].values, dtype=float)
    if law.name == "chinchilla":
        return 6.0 * const["n"].values * const["d"].values
    return None


def calibration_section(spec: dict[str, Any], main: Any, tmp: Path) -> tuple[str, str]:
    """("Calibration (rolling origin)", HTML body); writes ``calibration.csv`` and ``pit.png``."""
    from scaling.plots.forecast import plot_pit
    from scaling.studies import report

    d, m = spec["data"], spec["model"]
    split = _split(main)
    title = "Calibration (rolling origin)"
    if split is None:
        return title, report.paragraph(f"No rolling-origin backtest: law {m['law']} has no single split axis.")
    cutoffs = rolling_cutoffs(split, len(_model(main).param_names), geometric=not _is_year_axis(main))
    if not cutoffs:
        return title, report.paragraph(f"No rolling-origin backtest: {len(split)} rows are too few to hold some out.")
    from scaling.studies.spec import sampler_of, seed_of

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtest(
            d["source"],
            m["law"],
            x=m["x"],
            y=m["y"],
            cutoffs=cutoffs,
            likelihood=m.get("likelihood"),
            priors=m.get("priors"),
            law_options=m.get("law_options"),
            where=d.get("where"),
            dropna=d.get("dropna", False),
            units=d.get("units"),
            methods=["bayes", "huber"],
            sampler=sampler_of(spec),
            seed=seed_of(spec),
            point_kwargs={"num_bootstrap": 200},
        )
    bt.table.to_csv(tmp / "calibration.csv", index=False)
    log10 = _model(main).law.log_output
    pits: dict[str, list[np.ndarray]] = {"bayes": [], "huber": []}
    for (c, method), draws in bt.predictions.items():
        y = bt.observed[c]
        pits[method].append(pit(np.log10(draws) if log10 else draws, np.log10(y) if log10 else y))
    pooled = {k: np.concatenate(v) if v else np.array([]) for k, v in pits.items()}
    fig = plot_pit(pooled)
    fig.savefig(tmp / "pit.png", dpi=200)
    cols = ["cutoff", "method", "n_train", "n_test", "coverage_50", "coverage_80", "coverage_95", "crps", "status"]
    table = bt.table[[c for c in cols if c in bt.table.columns]].copy()
    if bt.date_split or _is_year_axis(main):
        from scaling.analysis.crossings import as_date

        table["cutoff"] = [as_date(c) for c in table["cutoff"]]
    unit = "log10 units of y" if log10 else "units of y"
    body = (
        report.paragraph(
            f"Fit on the rows below each cutoff, scored on every row at or above it ({len(cutoffs)} cutoffs). "
            f"A calibrated forecast covers about 50/80/95% of held-out rows with its 50/80/95% intervals; "
            f"CRPS in {unit}, lower is better. bayes: this study's model, predictive; huber: point fit with "
            f"bootstrap parameters and residual scatter."
        )
        + report.table_html(table, False)
        + report.figure_tag(fig, "PIT histogram of held-out rows, Bayesian and point fit")
        + (report.bullets(bt.notes) if bt.notes else "")
    )
    return title, body


def _model(main: Any) -> Any:
    from scaling.analysis.prediction import model_from_fit

    return model_from_fit(main)


def _is_year_axis(main: Any) -> bool:
    law = _model(main).law
    return len(law.inputs) == 1 and law.inputs[0].transform == "year"
