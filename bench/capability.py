"""Capability index on Epoch's hub: wall time, R-hat, agreement with ECI, held-out checks.

Run: ``SCALING_DATA_DIR=/path/to/mirror python bench/capability.py [--warmup N --samples N --chains N
--cutoff YYYY-MM-DD --lobo]``; prints markdown to paste into bench/capability.md and writes
bench/results/capability.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

from scaling.analysis.capability import compare_eci, fit_index, index_diagnosis
from scaling.analysis.capability_checks import leave_future_out, leave_one_benchmark_out
from scaling.data.hub import load_hub
from scaling.io import atomic_write


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--samples", type=int, default=500)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--cutoff", default="2025-04-01")
    p.add_argument("--lobo", nargs="*", default=None, help="benchmarks for leave-one-benchmark-out")
    a = p.parse_args()
    kw = dict(num_warmup=a.warmup, num_samples=a.samples, num_chains=a.chains, gate="off")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = load_hub()
    out: dict = {"load_average_before": os.getloadavg(), "cpus": os.cpu_count()}
    out |= {"rows": len(df), "models": df["model"].nunique(), "benchmarks": df["benchmark"].nunique(), **kw}
    t = time.perf_counter()
    fit = fit_index(df, **kw)
    out["wall_s"] = time.perf_counter() - t
    diag = index_diagnosis(fit)
    out["diagnostics"] = diag.status
    out["rhat_max"] = float(diag.table["r_hat"].max())
    out["ess_bulk_min"] = float(diag.table["ess_bulk"].min())
    out["divergences"] = int(fit["sample_stats"]["diverging"].sum())
    out["mean_steps"] = float(fit["sample_stats"]["n_steps"].mean())
    out["diagnostics_table"] = diag.table[["r_hat", "ess_bulk", "ess_tail"]].round(4).to_dict("index")
    out["load_average_after_fit"] = os.getloadavg()
    cmp = compare_eci(fit)
    out["eci"] = dict(cmp.attrs)
    out["eci_largest_differences"] = cmp.head(10)[["model", "median", "eci", "mapped", "difference"]].to_dict("records")
    print(json.dumps(out, indent=1, default=str), flush=True)
    t = time.perf_counter()
    lfo, _, _ = leave_future_out(df, a.cutoff, **kw)
    out["lfo"] = {**lfo, "cutoff": a.cutoff, "wall_s": time.perf_counter() - t}
    print(json.dumps(out["lfo"], default=str), flush=True)
    if a.lobo is not None:
        t = time.perf_counter()
        per, _ = leave_one_benchmark_out(df, a.lobo or None, **kw)
        out["lobo"] = per.to_dict("records")
        out["lobo_wall_s"] = time.perf_counter() - t
        print(per.to_string(), flush=True)
    res = Path(__file__).parent / "results"
    res.mkdir(exist_ok=True)
    text = json.dumps(out, indent=1, default=str)
    atomic_write(res / "capability.json", lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    main()
