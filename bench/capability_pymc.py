"""The capability index against the same model in PyMC with its default sampler (issue 22, item 7).

Model (both; ``scaling/models/irt.py`` with ``anchors=None``): ``theta_i ~ N(0, 1)``;
``b_j = mu_b + sd_b z_j``, ``mu_b ~ N(0, 2)``, ``sd_b ~ HalfNormal(2)``; ``log a_j = mu_a + sd_a
z'_j``, ``mu_a ~ N(log 2, 1)``, ``sd_a ~ HalfNormal(1)``; ``log phi_j = mu_phi + sd_phi z''_j``,
``mu_phi ~ N(log 50, 1)``, ``sd_phi ~ HalfNormal(1)``; floors ``c_j = 0.5 Beta(1, 4)`` where the
hub does not fix them, fixed where it does; ``mu = c + (1 - c) sigmoid(a (theta - b))``;
``y ~ Beta(mu phi_eff, (1 - mu) phi_eff)`` with ``phi_eff = mu (1 - mu) / Var - 1``, ``Var = mu (1 -
mu) / (1 + phi_j) + stderr^2`` (the reported standard error; 0 where none). PyMC gets it in its
natural form (everything non-centred, theta sampled directly); ``scaling`` samples its own
coordinates (zero-sum capabilities and log slopes, explicit location and scale, dense mass; see
``scaling/analysis/capability_sampler.py``). Both posteriors are on theta's N(0, 1) scale.

Each sampler fits the same data twice (the first fit includes compilation, the second shows the
sampling speed): ``fit_index`` with its defaults (4 chains x (300 warm-up + 500 draws), 2 threads),
``pm.sample()`` with its defaults (NUTS, ``jitter+adapt_diag``, 1000 tune + 1000 draws, chains =
cores = 2 here). Reported: wall time, the smallest bulk ESS over every free theta, a, b, c and phi
(``arviz_stats.ess``), ESS per second, the largest R-hat, divergences, and the agreement of the
posterior medians (Spearman of theta; theta after a least-squares affine map, in posterior sds).

Data: the hub subset of ``tests/test_capability.py`` (the 6 most-scored benchmarks, models scored
on at least 3 of them); ``--full`` for the whole hub.

Usage: ``SCALING_DATA_DIR=... python bench/capability_pymc.py [--full] [--fits 1] [--out FILE.md]``. PyMC
gets the arrays ``fit_index`` builds (``scaling.analysis.capability._arrays``: same clipping, floors and
standard errors).
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from scaling.analysis.capability import _arrays, fit_index
from scaling.data.hub import load_hub, long_table
from scaling.models.irt import C_MAX, HIER

VARS = ("theta", "a", "b", "c", "phi")


def hub_table(full: bool) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hub = load_hub()
    if full:
        return hub
    top = hub["benchmark"].value_counts().index[:6]
    sub = hub[hub["benchmark"].isin(top)]
    n = sub.groupby("model")["benchmark"].nunique()
    return sub[sub["model"].map(n) >= 3]


def summary(post) -> dict[str, float]:
    """Smallest bulk ESS and largest R-hat over the free elements of theta, a, b, c, phi; medians."""
    import arviz_stats as azs

    ess, rhat, med = [], [], {}
    for v in VARS:
        x = post[v]
        free = np.flatnonzero((x.max(("chain", "draw")) > x.min(("chain", "draw"))).values)
        if not free.size:  # fixed everywhere (known floors)
            continue
        x = x.isel({x.dims[-1]: free})
        ess.append(float(np.nanmin(azs.ess(x, method="bulk").values)))
        rhat.append(float(np.nanmax(azs.rhat(x).values)))
        med[v] = x.median(("chain", "draw")).values
    return {"min_ess_bulk": min(ess), "worst": list(med)[int(np.argmin(ess))], "rhat_max": max(rhat), "medians": med}


def run_scaling(df: pd.DataFrame, seed: int) -> tuple[float, object, int]:
    t = time.perf_counter()
    fit = fit_index(df, anchors=None, gate="off", seed=seed)
    wall = time.perf_counter() - t
    return wall, fit["posterior"].to_dataset(), int(fit["sample_stats"]["diverging"].sum())


def run_pymc(df: pd.DataFrame, seed: int) -> tuple[float, object, int]:
    import pymc as pm
    import pytensor.tensor as pt

    models, benches, d = _arrays(long_table(df), None)
    i, j = d.model_idx, d.bench_idx
    est = np.flatnonzero(np.isnan(d.floor))
    fixed = np.nan_to_num(d.floor.astype(float))
    (b_m, b_s, b_h), (a_m, a_s, a_h), (p_m, p_s, p_h) = HIER["b"], HIER["log_a"], HIER["log_phi"]
    se2 = d.stderr.astype(float) ** 2
    t = time.perf_counter()
    with pm.Model(coords={"model": models, "benchmark": benches, "estimated": [benches[k] for k in est]}):
        theta = pm.Normal("theta", 0.0, 1.0, dims="model")
        b = pm.Deterministic(
            "b",
            pm.Normal("b_mu", b_m, b_s) + pm.HalfNormal("b_sd", b_h) * pm.Normal("b_z", dims="benchmark"),
            dims="benchmark",
        )
        log_a = pm.Normal("log_a_mu", a_m, a_s) + pm.HalfNormal("log_a_sd", a_h) * pm.Normal("a_z", dims="benchmark")
        a = pm.Deterministic("a", pm.math.exp(log_a), dims="benchmark")
        log_phi = pm.Normal("log_phi_mu", p_m, p_s) + pm.HalfNormal("log_phi_sd", p_h) * pm.Normal(
            "phi_z", dims="benchmark"
        )
        phi = pm.Deterministic("phi", pm.math.exp(log_phi), dims="benchmark")
        c = pt.as_tensor(fixed)
        if est.size:
            c = pt.set_subtensor(c[est], C_MAX * pm.Beta("c_raw", 1.0, 4.0, dims="estimated"))
        c = pm.Deterministic("c", c, dims="benchmark")
        mu = c[j] + (1 - c[j]) * pm.math.sigmoid(a[j] * (theta[i] - b[j]))
        mu = pm.math.clip(mu, 1e-6, 1 - 1e-6)
        var = mu * (1 - mu) / (1 + phi[j]) + se2
        phi_eff = pm.math.clip(mu * (1 - mu) / var - 1.0, 1e-3, 1e6)
        pm.Beta("y", alpha=mu * phi_eff, beta=(1 - mu) * phi_eff, observed=d.y.astype(float))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = pm.sample(random_seed=seed, progressbar=False)
    wall = time.perf_counter() - t
    return wall, idata.posterior, int(idata.sample_stats["diverging"].sum())


def agreement(ours: dict, theirs: dict, sd: np.ndarray) -> dict[str, float]:
    x, y = ours["theta"], theirs["theta"]
    slope, icpt = np.polyfit(y, x, 1)
    return {
        "spearman_theta": float(spearmanr(x, y).statistic),
        "affine_slope": float(slope),
        "max_diff_theta_sd": float(np.max(np.abs(x - (slope * y + icpt)) / sd)),
        "spearman_b": float(spearmanr(ours["b"], theirs["b"]).statistic),
        "spearman_a": float(spearmanr(ours["a"], theirs["a"]).statistic),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--full", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--fits", type=int, default=2, choices=(1, 2), help="fits per sampler (1: first fits only)")
    args = p.parse_args()
    df = hub_table(args.full)
    load = [os.getloadavg()]
    rows, last = [], {}
    for name, runner in (("scaling", run_scaling), ("pymc", run_pymc)):
        for attempt, seed in (("first", 1), ("second", 2))[: args.fits]:
            wall, post, div = runner(df, seed)
            s = summary(post)
            last[name] = (s, post)
            row = {"sampler": name, "fit": attempt, "wall_s": round(wall, 1), "min_ess_bulk": round(s["min_ess_bulk"])}
            row |= {"lowest": s["worst"], "ess_per_s": round(s["min_ess_bulk"] / wall, 2)}
            row |= {"rhat_max": round(s["rhat_max"], 4), "divergences": div}
            rows.append(row)
            load.append(os.getloadavg())
            print(row, flush=True)
    sd = last["scaling"][1]["theta"].std(("chain", "draw")).values
    agree = agreement(last["scaling"][0]["medians"], last["pymc"][0]["medians"], sd)
    table = pd.DataFrame(rows)
    ratio = {
        f: table.query(f"sampler == 'scaling' and fit == '{f}'")["ess_per_s"].item()
        / table.query(f"sampler == 'pymc' and fit == '{f}'")["ess_per_s"].item()
        for f in ("first", "second")[: args.fits]
    }
    text = (
        f"# Capability index: scaling vs PyMC ({len(df)} scores, {df['model'].nunique()} models, "
        f"{df['benchmark'].nunique()} benchmarks)\n\n```\n{table.to_string(index=False)}\n```\n\n"
        f"ESS per second, scaling / PyMC: {', '.join(f'{f} fits {r:.1f}x' for f, r in ratio.items())}.\n\n"
        f"Agreement of the last fits' posterior medians: {', '.join(f'{k} {v:.4f}' for k, v in agree.items())}.\n\n"
        f"Load average (1, 5, 15 min) before and after each fit: {[tuple(round(v, 2) for v in x) for x in load]}; "
        f"{os.cpu_count()} CPUs.\n"
    )
    print(text, flush=True)
    if args.out:
        from scaling.io import atomic_write

        atomic_write(args.out, lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    main()
