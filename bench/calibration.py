"""Rolling-origin calibration of the default predictive forecasts on the shared data.

For every series and cutoff, fit on the rows before the cutoff and score the predictive draws at
every later row (``scaling.analysis.backtesting.score``; positive quantities in log10 units):
coverage of the central 50/80/95% intervals, CRPS, and the PIT (share of draws below the truth;
uniform when calibrated, piled near 1 when the truth lands above the median).

Series (``SERIES``): METR frontier time horizons against release date, Epoch AI's frontier
training compute (top 10 at release, from 2010) against date, OpenAI's reported revenue against
date, Observational Scaling Laws' 8.4e22 FLOP split (MMLU, logistic in log compute) and Gadre et
al.'s C4 runs (loss against training FLOP, the largest runs held out).

Methods for date series: the stacked trend forecast (:func:`scaling.forecast`) as its mean curve
(``trend_mean_*``, the forecast before predictive became the default) or predictive
(``stacked_<validation>_<likelihood>``: shapes weighted by PSIS-LOO with exact refits of high-k
points, ``loo``, the default, or by leave-future-out, ``lfo``), with the Student-t (the default
for date trends) or lognormal likelihood; the exponential shape alone; and the
baseline ``huber`` (:func:`scaling.fit_point` on ``exponential_trend``, bootstrap + residual
scatter). For compute laws: ``bayes`` (default likelihood, predictive) and ``huber``.

Test sets of successive cutoffs overlap (every later row is scored), so pooled numbers weigh late
rows more; per-cutoff rows are in ``bench/results/calibration.jsonl``.

    PYTHONPATH=. SCALING_DATA_DIR=/work/shared/data python bench/calibration.py [--series metr_frontier ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import scaling  # noqa: E402
from scaling.analysis.backtesting import backtest, pit, score  # noqa: E402
from scaling.analysis.forecasting import SHAPES, forecast, frontier, years  # noqa: E402
from scaling.errors import DataError  # noqa: E402

FIT = {"num_warmup": 300, "num_samples": 300, "num_chains": 2, "progress": None}
PROBS = (0.5, 0.8, 0.95)
LIKELIHOODS = ["studentt", "lognormal"]
#: how the stacked forecast weighs its shapes: "loo" (the default: PSIS-LOO, high-k points refitted), "lfo"
VALIDATIONS = ["loo", "lfo"]
NO_QUADRATIC = [False]
#: the trend shapes fitted and stacked (``--shapes``; default: the forecast's own)
SHAPE_SET = list(SHAPES)
#: prior overrides of the date-trend fits (``--sigma-scale``: HalfNormal scale of the likelihood's sigma)
PRIORS: dict = {}
#: prior overrides of one shape's own parameters (``--curvature-scale``: the quadratic's curvature)
SHAPE_PRIORS: dict = {}


def _priors(shape: str) -> dict | None:
    return {**PRIORS, **SHAPE_PRIORS.get(shape, {})} or None


def _tag() -> str:
    """Method-name suffix of a shape set other than the forecast's default (``+broken_exponential``)."""
    extra = [s.removesuffix("_trend") for s in SHAPE_SET if s not in SHAPES]
    less = [s.removesuffix("_trend") for s in SHAPES if s not in SHAPE_SET]
    return "".join(f"+{s}" for s in extra) + "".join(f"-{s}" for s in less)


def _metr():
    th = scaling.datasets.load("time_horizons")
    return th[th["frontier"] == 1]


def _epoch():
    return frontier(scaling.datasets.load("epoch_models"), since="2010-01-01", top_k=10)


def _openai():
    rev = scaling.datasets.load("lab_revenue")
    return rev[rev["company"] == "OpenAI"]


def _gadre():
    g = scaling.datasets.load("gadre2024")
    return g[g["dataset"] == "c4_original"].dropna(subset=["loss_c4"])


SERIES = {
    "metr_frontier": {
        "data": _metr,
        "x": "release_date",
        "y": "p50_minutes",
        "cutoffs": [2024.0, 2024.5, 2025.0],
    },
    "epoch_compute": {
        "data": _epoch,
        "x": "release_date",
        "y": "training_flop",
        "cutoffs": [2021.0, 2022.5, 2024.0],
    },
    "openai_revenue": {"data": _openai, "x": "date", "y": "revenue_usd", "cutoffs": [2024.0, 2024.5, 2025.0]},
    "obsscaling_mmlu": {
        "data": lambda: "obsscaling",
        "law": "logistic",
        "x": "training_flop",
        "y": "mmlu",
        "cutoffs": [8.4e22],
        "dropna": True,
    },
    "gadre_c4": {
        "data": _gadre,
        "law": "saturating_power_law",
        "x": "training_flop",
        "y": "loss_c4",
        "cutoffs": [3e19, 1e20],
    },
}


def _row(series, cutoff, method, draws, y, log10):
    s = score(draws, y, PROBS, log10=log10)
    p = pit(np.log10(draws) if log10 else draws, np.log10(y) if log10 else y)
    return {"series": series, "cutoff": cutoff, "method": method, "n_test": int(len(y)), **s, "pit": p.tolist()}


def date_series(name: str, spec: dict) -> list[dict]:
    df = spec["data"]()
    t = years(list(df[spec["x"]]))
    rows = []
    for c in spec["cutoffs"]:
        start = len(rows)
        train, test = df[t < c], df[t >= c]
        y_test = test[spec["y"]].to_numpy(dtype=float)
        dates = list(test[spec["x"]])
        for lik in LIKELIHOODS:
            fits = {}
            for s in SHAPE_SET:
                try:
                    fits[s] = scaling.fit(
                        train, s, x=spec["x"], y=spec["y"], likelihood=lik, priors=_priors(s), **FIT, seed=0
                    )
                except DataError as e:  # too few rows for this shape's parameters: left out, said so
                    print(f"{name} cutoff {c}: {s} with {lik} left out: {e}", flush=True)
            shapes = tuple(fits)
            for validation in VALIDATIONS:
                fc = forecast(
                    train,
                    x=spec["x"],
                    y=spec["y"],
                    fits=fits,
                    shapes=shapes,
                    horizon=c + 3.0,
                    num_grid_per_year=2,
                    validation=validation,
                    sampler=FIT,
                )
                if validation == VALIDATIONS[0]:
                    rows.append(_row(name, c, f"trend_mean_{lik}", fc.predict(dates, "mean"), y_test, True))
                rows.append(_row(name, c, f"stacked_{validation}_{lik}{_tag()}", fc.predict(dates), y_test, True))
                rows[-1]["weights"] = fc.weights
                rows[-1]["validation"] = fc.validation
            exp_only = scaling.predict(fits["exponential_trend"], dates, kind="predictive", check=False)
            rows.append(_row(name, c, f"exponential_{lik}", _flat(exp_only), y_test, True))
            for extra in (s for s in fits if s not in SHAPES):  # a shape outside the default set, alone
                alone = scaling.predict(fits[extra], dates, kind="predictive", check=False)
                rows.append(_row(name, c, f"{extra.removesuffix('_trend')}_{lik}", _flat(alone), y_test, True))
            if not NO_QUADRATIC[0]:
                continue
            two = forecast(
                train,
                x=spec["x"],
                y=spec["y"],
                fits=fits,
                horizon=c + 3.0,
                num_grid_per_year=2,
                shapes=tuple(k for k in shapes if k != "quadratic_trend"),
            )
            rows.append(_row(name, c, f"stacked_no_quadratic_{lik}", two.predict(dates), y_test, True))
        pf = scaling.fit_point(train, "exponential_trend", x=spec["x"], y=spec["y"], num_bootstrap=400, seed=0)
        rows.append(_row(name, c, "huber", _flat(scaling.predict(pf, dates, kind="predictive")), y_test, True))
        for r in rows[start:]:
            print(json.dumps({k: v for k, v in r.items() if k != "pit"}), flush=True)
    return rows


def law_series(name: str, spec: dict) -> list[dict]:
    rows = []
    for c in spec["cutoffs"]:
        bt = backtest(
            spec["data"](),
            spec["law"],
            x=spec["x"],
            y=spec["y"],
            cutoffs=[c],
            methods=["bayes", "huber"],
            dropna=spec.get("dropna", False),
            sampler=FIT,
            point_kwargs={"num_bootstrap": 400},
        )
        law = scaling.get_law(spec["law"])
        df = scaling.datasets.load(spec["data"]()) if isinstance(spec["data"](), str) else spec["data"]()
        for (cut, method), draws in bt.predictions.items():
            n_test = int(bt.table.set_index("method").loc[method, "n_test"])
            y = _test_y(df, spec, c, n_test)
            rows.append(_row(name, cut, method, draws, y, law.log_output))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "pit"}), flush=True)
    return rows


def _test_y(df, spec, c, n_test):
    d = df.dropna(subset=[spec["x"], spec["y"]])
    y = d[pd.to_numeric(d[spec["x"]]) >= c][spec["y"]].to_numpy(dtype=float)
    assert len(y) == n_test, (len(y), n_test)
    return y


def _flat(da):
    return da.stack(s=[d for d in da.dims if d != "grid"]).transpose("s", "grid").values


def summarise(rows: list[dict]) -> pd.DataFrame:
    """Per series and pooled: coverage (share of all scored points), mean CRPS per point, mean PIT."""
    out = []
    frame = pd.DataFrame(rows)
    for (series, method), g in [
        *frame.groupby(["series", "method"]),
        *[(("pooled", m), g) for m, g in frame.groupby("method")],
    ]:
        w = g["n_test"].to_numpy(dtype=float)
        pits = np.concatenate([np.asarray(p, dtype=float) for p in g["pit"]])  # empty for rows kept without PIT
        rec = {"series": series, "method": method, "cutoffs": len(g), "points": int(w.sum())}
        for col in ("coverage_50", "coverage_80", "coverage_95", "crps"):
            rec[col] = float(np.sum(g[col] * w) / w.sum())
        rec["pit_mean"] = float(pits.mean()) if pits.size else float("nan")
        rec["pit_above_0.9"] = float(np.mean(pits > 0.9)) if pits.size else float("nan")
        out.append(rec)
    return pd.DataFrame(out)


DEFAULT = {"date": "stacked_loo_studentt", "law": "bayes"}  # what scaling.forecast / scaling.fit give by default
BEFORE = {"date": "trend_mean_lognormal-broken_exponential", "law": "bayes"}  # 0.1: three shapes' mean curve


def headline(rows: list[dict]) -> pd.DataFrame:
    """Per series and pooled: the default forecast against the point fit (huber); CRPS ratio < 1 is better."""
    frame = pd.DataFrame(rows)
    out = []
    for name in [*frame["series"].unique(), "pooled"]:
        g = frame if name == "pooled" else frame[frame["series"] == name]
        kind = {s: "law" if "law" in SERIES[s] else "date" for s in g["series"].unique()}
        rec = {"series": name}
        for label, choice in (("before", BEFORE), ("default", DEFAULT), ("huber", None)):
            sel = g[
                [
                    m == ("huber" if choice is None else choice[kind[s]])
                    for s, m in zip(g["series"], g["method"], strict=True)
                ]
            ]
            w = sel["n_test"].to_numpy(dtype=float)
            for col in ("coverage_50", "coverage_80", "coverage_95"):
                rec[f"{label}_{col[9:]}"] = float(np.sum(sel[col] * w) / w.sum())
            # CRPS: mean over series of the per-point mean (series differ in units and size)
            per = sel.groupby("series").apply(lambda h: np.sum(h["crps"] * h["n_test"]) / h["n_test"].sum())
            rec[f"{label}_crps"] = float(per.mean())
            rec["points"] = int(w.sum())
        rec["crps_ratio"] = rec["default_crps"] / rec["huber_crps"]
        out.append(rec)
    return pd.DataFrame(out)


def markdown(rows: list[dict]) -> str:
    """Per-series and pooled tables (markdown) of :func:`summarise`."""
    head = headline(rows)
    hc = list(head.columns)
    lines = ["| " + " | ".join(hc) + " |", "|" + "---|" * len(hc)]
    for _, r in head.iterrows():
        lines.append("| " + " | ".join(f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in hc) + " |")
    lines.append("")
    table = summarise(rows)
    cols = ["series", "method", "cutoffs", "points", "coverage_50", "coverage_80", "coverage_95", "crps", "pit_mean"]
    lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in table.iterrows():
        cells = [f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", nargs="*", default=list(SERIES))
    ap.add_argument("--out", default=str(BENCH / "results" / "calibration.jsonl"))
    ap.add_argument("--report", action="store_true", help="print the markdown tables of --out and exit")
    ap.add_argument("--likelihoods", nargs="*", default=LIKELIHOODS)
    ap.add_argument("--validations", nargs="*", default=VALIDATIONS)
    ap.add_argument("--curvature-scale", type=float, default=None, help="Normal scale of the quadratic's curvature")
    ap.add_argument("--curvature-positive", action="store_true", help="HalfNormal curvature: accelerating only")
    ap.add_argument(
        "--sigma-scale", type=float, default=None, help="HalfNormal scale of sigma (default: the likelihood's)"
    )
    ap.add_argument("--no-quadratic", action="store_true", help="also score the stack without the quadratic shape")
    ap.add_argument("--shapes", nargs="*", default=SHAPE_SET, help="trend shapes fitted and stacked")
    ap.add_argument("--chains", type=int, default=FIT["num_chains"])
    ap.add_argument("--draws", type=int, default=FIT["num_samples"], help="warm-up steps and draws per chain")
    args = ap.parse_args()
    LIKELIHOODS[:] = args.likelihoods
    VALIDATIONS[:] = args.validations
    if args.curvature_scale is not None:
        dist = "HalfNormal" if args.curvature_positive else "Normal"
        loc = {} if args.curvature_positive else {"loc": 0.0}
        SHAPE_PRIORS["quadratic_trend"] = {"curvature": scaling.Prior(dist, **loc, scale=args.curvature_scale)}
    if args.sigma_scale is not None:
        PRIORS["sigma"] = scaling.Prior("HalfNormal", scale=args.sigma_scale)
    NO_QUADRATIC[0] = args.no_quadratic
    SHAPE_SET[:] = args.shapes
    FIT.update(num_chains=args.chains, num_warmup=args.draws, num_samples=args.draws)
    if args.report:
        rows = [json.loads(line) for line in Path(args.out).read_text().splitlines() if line.strip()]
        print(markdown(rows))
        return
    warnings.simplefilter("ignore")
    rows = []
    for name in args.series:
        spec = SERIES[name]
        rows += law_series(name, spec) if "law" in spec else date_series(name, spec)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text("".join(json.dumps(r, default=float) + "\n" for r in rows))
    print(summarise(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
