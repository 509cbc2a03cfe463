"""W1: the Chinchilla replication (Besiroglu et al. 2024, the Epoch method) and its bootstrap.

Objective (summed over the 240 points kept by Besiroglu et al.)::

    sum_i w_i huber_delta(LSE(a - alpha ln N_i, b - beta ln D_i, e) - ln L_i),   delta = 1e-3

started from Hoffmann et al.'s 4,500-start grid (``scaling.hoffmann_grid()``), best start kept.

Methods (one JSON line each):

* ``scipy_grid``: the baseline, a Python loop of ``scipy.optimize.minimize(method="L-BFGS-B")``
  with the analytic gradient, one call per grid start (scipy's default tolerances, ``--scipy-tol``),
  the best start polished with tight tolerances (inside the timing).
* ``ours_grid``: ``scaling.fit_point(..., init=hoffmann_grid(), init_space="physical", delta=1e-3)``.
* ``ours_bootstrap``: the same call with ``n_bootstrap`` replicates (the whole call: grid fit + bootstrap).
* ``scipy_exhaustive_bootstrap``: scipy over the full grid on ``--check-replicates`` of our
  replicates (same resample weights), timed per replicate and *extrapolated* to ``n_bootstrap``;
  the same runs verify that each of our replicates reached the exhaustive optimum (``check``).
* ``scipy_warmstart_bootstrap``: the cheaper procedure, each replicate started from the
  ``--warm-starts`` best full-data scipy optima (tight tolerances), timed on ``--warm-replicates``
  replicates and *extrapolated*; ``..._default_tol``: the same with scipy's default tolerances, which
  stop early (recorded to show it, not a baseline).

Our replicates' resample weights are reconstructed from ``fit_point``'s seed scheme (its code, not its API)
(``np.random.default_rng(seed).multinomial(n, [1/n]*n, size=n_bootstrap)``); the reconstruction is
checked by re-evaluating the objective at each of our replicate optima with those weights and
comparing with the loss ``fit_point`` reports (``weights_reconstruction_max_rel_err``).

    python bench/w1_chinchilla.py                 # full run (about 20-25 min on 2 cores, mostly the scipy checks)
    python bench/w1_chinchilla.py --quick         # smoke run (subsampled grid, 100 replicates)
"""

from __future__ import annotations

import argparse
import os
import time

# scipy's L-BFGS-B calls BLAS on 5-vectors; with OpenBLAS's default 2 threads it runs 4-6x slower on this
# 2-core machine (spin-waiting threads). Single-threaded BLAS is the baseline at its best; set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from common import (  # noqa: E402
    EPOCH_INTERVALS,
    EPOCH_OPTIMUM,
    Recorder,
    add_common_args,
    check,
    ratio,
    repeats_arg,
    time_call,
    timing_fields,
)

PARAMS = ("alpha", "beta", "E", "a", "b")
X = ["parameters", "training_tokens"]


# --------------------------------------------------------------------------- the Epoch objective


def epoch_objective(theta: np.ndarray, ln_n, ln_d, ln_l, w, delta: float) -> tuple[float, np.ndarray]:
    """Summed Huber loss of log residuals and its analytic gradient; ``theta = (a, b, e, alpha, beta)``."""
    a, b, e, alpha, beta = theta
    t = np.stack([a - alpha * ln_n, b - beta * ln_d, np.full_like(ln_n, e)])
    m = t.max(axis=0)
    ex = np.exp(t - m)
    s = ex.sum(axis=0)
    r = m + np.log(s) - ln_l
    ar = np.abs(r)
    h = np.where(ar <= delta, 0.5 * r * r, delta * (ar - 0.5 * delta))
    g = w * np.clip(r, -delta, delta) / s  # dLoss/dpred divided by the softmax denominator
    grad = np.array(
        [
            np.dot(g, ex[0]),
            np.dot(g, ex[1]),
            np.dot(g, ex[2]),
            -np.dot(g, ex[0] * ln_n),
            -np.dot(g, ex[1] * ln_d),
        ]
    )
    return float(np.dot(w, h)), grad


def grid_starts(n: int | None) -> np.ndarray:
    """Hoffmann's grid as rows ``(a, b, e, alpha, beta)``; ``n`` < 4500: an evenly spaced subsample."""
    import scaling

    g = scaling.hoffmann_grid()
    rows = np.stack([g["a"], g["b"], np.log(g["E"]), g["alpha"], g["beta"]], axis=1)
    if n is not None and n < len(rows):
        rows = rows[np.unique(np.linspace(0, len(rows) - 1, n).round().astype(int))]
    return rows


def as_grid_dict(rows: np.ndarray) -> dict[str, np.ndarray]:
    return {"a": rows[:, 0], "b": rows[:, 1], "E": np.exp(rows[:, 2]), "alpha": rows[:, 3], "beta": rows[:, 4]}


def scipy_multistart(starts: np.ndarray, data, w, delta: float, options: dict) -> dict:
    """Loop of L-BFGS-B runs, one per start; returns the best run and every run's loss."""
    from scipy.optimize import minimize

    ln_n, ln_d, ln_l = data
    best, losses, nit, xs = None, [], [], []
    for x0 in starts:
        res = minimize(
            epoch_objective, x0, args=(ln_n, ln_d, ln_l, w, delta), jac=True, method="L-BFGS-B", options=options
        )
        f = float(res.fun) if np.isfinite(res.fun) else np.inf
        losses.append(f)
        nit.append(int(res.nit))
        xs.append(res.x)
        if best is None or f < best.fun:
            best = res
    return {
        "x": np.asarray(best.x),
        "loss": float(best.fun),
        "losses": np.asarray(losses),
        "nit": np.asarray(nit),
        "xs": np.asarray(xs),
    }


def distinct_optima(run: dict, k: int, tol: float = 1e-4) -> np.ndarray:
    """The ``k`` lowest-loss distinct end points of a multi-start run (rows ``(a, b, e, alpha, beta)``)."""
    out: list[np.ndarray] = []
    for i in np.argsort(run["losses"]):
        x = run["xs"][i]
        if all(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1.0)) > tol for y in out):
            out.append(x)
        if len(out) == k:
            break
    return np.stack(out)


TIGHT = {"ftol": 1e-15, "gtol": 1e-9}
TOLERANCES = {"default": {}, "tight": TIGHT}


def polish(x0: np.ndarray, data, w, delta: float) -> tuple[np.ndarray, float]:
    """Tight-tolerance L-BFGS-B from ``x0`` (scipy's default ``ftol`` stops early on an objective ~1e-3)."""
    from scipy.optimize import minimize

    f0 = epoch_objective(x0, *data, w, delta)[0]
    res = minimize(epoch_objective, x0, args=(*data, w, delta), jac=True, method="L-BFGS-B", options=TIGHT)
    return (np.asarray(res.x), float(res.fun)) if res.fun <= f0 else (np.asarray(x0), float(f0))


def scipy_fit(starts: np.ndarray, data, w, delta: float, options: dict) -> dict:
    """The Epoch method: a multi-start loop, best start kept, then polished with tight tolerances."""
    run = scipy_multistart(starts, data, w, delta, options)
    run["x_unpolished"], run["loss_unpolished"] = run["x"], run["loss"]
    run["x"], run["loss"] = polish(run["x"], data, w, delta)
    return run


def physical(x: np.ndarray) -> dict[str, float]:
    a, b, e, alpha, beta = (float(v) for v in x)
    return {"alpha": alpha, "beta": beta, "E": float(np.exp(e)), "a": a, "b": b}


def rel_diff(ours: dict[str, float], ref: dict[str, float]) -> float:
    return max(abs(ours[k] - ref[k]) / max(abs(ref[k]), 1e-12) for k in PARAMS)


# --------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--bootstrap", type=int, default=None, help="replicates (default 4000; quick 100)")
    p.add_argument("--bootstrap-starts", type=int, default=8, help="fit_point's bootstrap_starts")
    p.add_argument("--grid-starts", type=int, default=None, help="grid size for every method (default 4500; quick 150)")
    p.add_argument("--scipy-starts", type=int, default=None, help="starts timed in the scipy grid loop (default: all)")
    p.add_argument(
        "--scipy-tol",
        choices=list(TOLERANCES),
        default="default",
        help="L-BFGS-B tolerances of the grid loops (the best start is always polished with tight ones)",
    )
    p.add_argument("--check-replicates", type=int, default=None, help="replicates verified by exhaustive scipy (20)")
    p.add_argument("--warm-replicates", type=int, default=None, help="replicates timed for the warm-start way (50)")
    p.add_argument("--warm-starts", type=int, default=1, help="full-data optima each warm-start replicate starts from")
    p.add_argument("--delta", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-bootstrap", action="store_true", help="grid fits only")
    args = p.parse_args()
    q = args.quick
    repeats = repeats_arg(args)
    n_boot = args.bootstrap or (100 if q else 4000)
    n_grid = args.grid_starts or (150 if q else 4500)
    n_check = args.check_replicates if args.check_replicates is not None else (3 if q else 20)
    n_warm = args.warm_replicates if args.warm_replicates is not None else (10 if q else 50)
    rec = Recorder("w1", args, q, args.out)
    rec.machine()
    blas = os.environ.get("OPENBLAS_NUM_THREADS")
    options = TOLERANCES[args.scipy_tol]

    import scaling

    df = scaling.datasets.load("chinchilla")
    df = df[df["excluded"] == 0].reset_index(drop=True)
    starts = grid_starts(n_grid)
    init = as_grid_dict(starts)
    full_grid = len(starts) == 4500
    kw = {"x": X, "y": "loss", "init": init, "init_space": "physical", "delta": args.delta}

    # ---- ours: grid fit
    t = time_call(lambda i: scaling.fit_point(df, "chinchilla", **kw), repeats)
    dt = t["results"][-1]
    pe = dt["point_estimate"]
    ours = {k: float(pe[k]) for k in PARAMS}
    ours_loss = float(pe["loss"])
    n_pts = int(dt["constant_data"]["n_points"])
    # the data in fit_point's point order, so that bootstrap weights line up
    cd = dt["constant_data"]
    data = (
        np.log(cd["n"].values.astype(np.float64)),
        np.log(cd["d"].values.astype(np.float64)),
        np.log(dt["observed_data"]["y"].values.astype(np.float64)),
    )
    ones = np.ones(n_pts)

    # ---- scipy grid baseline (warm-up: 5 starts; no compilation to amortise)
    sp_starts = starts if args.scipy_starts is None else grid_starts(min(args.scipy_starts, len(starts)))
    scipy_fit(sp_starts[:5], data, ones, args.delta, options)
    ts = time_call(lambda i: scipy_fit(sp_starts, data, ones, args.delta, options), repeats, warmup=False)
    sp = ts["results"][-1]
    ref = physical(sp["x"])
    ref_loss = sp["loss"]
    sp_extrap = len(sp_starts) < len(starts)
    sp_grid_s = ts["median_s"] * (len(starts) / len(sp_starts))
    rec.emit(
        "scipy_grid",
        **timing_fields(ts),
        n_points=n_pts,
        n_starts=len(sp_starts),
        grid_starts=len(starts),
        extrapolated=sp_extrap,
        median_s_extrapolated=sp_grid_s if sp_extrap else None,
        per_start_ms=1e3 * ts["median_s"] / len(sp_starts),
        params=ref,
        loss=ref_loss,
        params_unpolished=physical(sp["x_unpolished"]),
        loss_unpolished=sp["loss_unpolished"],
        median_nit=float(np.median(sp["nit"])),
        scipy_tol=args.scipy_tol,
        openblas_threads=blas,
        note="loop of minimize(L-BFGS-B, analytic gradient) over the starts, best kept and polished "
        "(ftol=1e-15, gtol=1e-9); the polish is inside the timing",
    )
    grid_rel = rel_diff(ours, ref)
    speed = ratio(sp_grid_s, t["median_s"])
    rec.emit(
        "ours_grid",
        **timing_fields(t),
        n_points=n_pts,
        n_starts=len(starts),
        params=ours,
        loss=ours_loss,
        grad_norm=float(dt["fit_stats"]["grad_norm"].values[0]),
        n_iter=int(dt["fit_stats"]["n_iter"].values[0]),
        max_rel_diff_vs_scipy=grid_rel,
        loss_minus_scipy=ours_loss - ref_loss,
        vs_published={k: ours[k] - EPOCH_OPTIMUM[k] for k in ("alpha", "beta", "E", "loss") if k in ours}
        | {"loss": ours_loss - EPOCH_OPTIMUM["loss"]},
        speedup_vs_scipy=speed,
        speedup_vs_scipy_incl_compile=ratio(sp_grid_s, t["first_s"]),
    )
    note = "scipy extrapolated from a subsample of starts" if sp_extrap else ""
    targets = [
        check("W1 grid: same optimum as exhaustive scipy grid (max rel diff)", grid_rel, "<= 1e-3", grid_rel <= 1e-3),
        check("W1 grid: speed-up vs scipy loop (warm)", speed, ">= 20", (speed or 0) >= 20, note),
        check("W1 grid: compile time (s)", t["compile_s"], "<= 20", t["compile_s"] <= 20),
    ]
    if not full_grid:
        targets.append(check("grid size", len(starts), "4500", None, "subsampled grid: not the target workload"))
    if args.skip_bootstrap:
        rec.targets(targets)
        return

    # ---- ours: bootstrap (the whole call: grid fit + replicates)
    bkw = kw | {"num_bootstrap": n_boot, "bootstrap_starts": args.bootstrap_starts, "seed": args.seed}
    tb = time_call(lambda i: scaling.fit_point(df, "chinchilla", **bkw), repeats)
    db = tb["results"][-1]
    post = db["posterior"]
    bo = {k: post[k].values.astype(np.float64) for k in PARAMS}
    b_loss = db["fit_stats"]["loss"].values
    b_grad = db["fit_stats"]["grad_norm"].values
    intervals = {k: [float(v) for v in np.percentile(bo[k], [2.5, 97.5])] for k in ("alpha", "beta", "E")}
    int_err = max(abs(intervals[k][j] - EPOCH_INTERVALS[k][j]) for k in intervals for j in (0, 1))

    # the resample weights, drawn as fit_point draws them
    rng = np.random.default_rng(args.seed)
    weights = rng.multinomial(n_pts, np.full(n_pts, 1.0 / n_pts), size=n_boot).astype(np.float64)

    def ours_rep(j: int) -> dict[str, float]:
        return {k: float(bo[k][j]) for k in PARAMS}

    def ours_x(j: int) -> np.ndarray:
        return np.array([bo["a"][j], bo["b"][j], np.log(bo["E"][j]), bo["alpha"][j], bo["beta"][j]])

    recon = [
        abs(epoch_objective(ours_x(j), *data, weights[j], args.delta)[0] - b_loss[j]) / b_loss[j]
        for j in range(min(n_boot, 200))
    ]
    recon_err = float(np.max(recon))
    recon_ok = recon_err < 1e-6
    rec.emit(
        "ours_bootstrap",
        **timing_fields(tb),
        n_bootstrap=n_boot,
        bootstrap_starts=args.bootstrap_starts,
        n_starts=len(starts),
        bootstrap_only_s=max(tb["median_s"] - t["median_s"], 0.0),
        intervals_95=intervals,
        published_intervals_95=EPOCH_INTERVALS,
        max_interval_abs_err=int_err,
        share_grad_norm_below_1e_6=float(np.mean(b_grad < 1e-6)),
        median_n_iter=float(np.median(db["fit_stats"]["n_iter"].values)),
        max_n_iter=int(np.max(db["fit_stats"]["n_iter"].values)),
        weights_reconstruction_max_rel_err=recon_err,
        note="median_s is the whole fit_point call (grid fit + bootstrap); bootstrap_only_s = median_s - ours_grid; "
        "compile_s covers the bootstrap-shaped program only (the grid programs were compiled by ours_grid)",
    )

    # ---- scipy exhaustive on sampled replicates: verification and per-replicate time
    pick = np.random.default_rng(12345).choice(n_boot, size=min(n_check, n_boot), replace=False)
    per_rep, diffs, loss_gap = [], [], []
    for j in pick:
        t0 = time.perf_counter()
        r = scipy_fit(starts, data, weights[j], args.delta, options)
        per_rep.append(time.perf_counter() - t0)
        diffs.append(rel_diff(ours_rep(j), physical(r["x"])))
        loss_gap.append(float(b_loss[j] - r["loss"]))
    ex_med = float(np.median(per_rep)) if per_rep else None
    ex_total = None if ex_med is None else ex_med * n_boot
    max_diff = float(np.max(diffs)) if diffs else None
    rec.emit(
        "scipy_exhaustive_bootstrap",
        median_s=ex_total,
        compile_s=None,
        repeats=len(per_rep),
        extrapolated=True,
        per_replicate_s=per_rep,
        per_replicate_median_s=ex_med,
        n_replicates_timed=len(per_rep),
        n_bootstrap=n_boot,
        n_starts=len(starts),
        scipy_tol=args.scipy_tol,
        openblas_threads=blas,
        note=f"median time per replicate (all {len(starts)} starts + polish) of {len(per_rep)} replicates "
        f"x {n_boot}: extrapolated",
    )
    rec.emit(
        "check",
        replicates=[int(j) for j in pick],
        max_rel_diff=max_diff,
        rel_diffs=diffs,
        loss_minus_exhaustive=loss_gap,
        all_within_rel_1e_3=bool(max_diff is not None and max_diff <= 1e-3),
        weights_reconstruction_ok=recon_ok,
        note="our replicate optimum vs exhaustive scipy (every grid start, best polished) on the same resample weights",
    )

    # ---- scipy warm-start procedure: tight tolerances (the baseline) and scipy's defaults (for the record)
    warm_x0 = distinct_optima(sp, args.warm_starts)
    warm = {}
    for tol in ("tight", "default"):
        wt, wdiff = [], []
        for j in range(min(n_warm, n_boot)):
            t0 = time.perf_counter()
            r = scipy_multistart(warm_x0, data, weights[j], args.delta, TOLERANCES[tol])
            wt.append(time.perf_counter() - t0)
            wdiff.append(rel_diff(ours_rep(j), physical(r["x"])))
        w_med = float(np.median(wt)) if wt else None
        warm[tol] = w_med * n_boot if w_med is not None else None
        rec.emit(
            "scipy_warmstart_bootstrap" if tol == "tight" else "scipy_warmstart_bootstrap_default_tol",
            median_s=warm[tol],
            compile_s=None,
            repeats=len(wt),
            extrapolated=True,
            per_replicate_median_s=w_med,
            n_replicates_timed=len(wt),
            warm_starts=len(warm_x0),
            n_bootstrap=n_boot,
            scipy_tol=tol,
            openblas_threads=blas,
            max_rel_diff_vs_ours=float(np.max(wdiff)) if wdiff else None,
            note=f"each replicate from the {len(warm_x0)} best full-data scipy optimum/optima, "
            f"{tol} tolerances; median of {len(wt)} replicates x {n_boot}: extrapolated"
            + ("" if tol == "tight" else "; not a baseline: scipy's default ftol stops early (see max_rel_diff)"),
        )

    ours_b = tb["median_s"]
    full = n_boot >= 4000 and full_grid
    targets += [
        check(
            f"W1 bootstrap: {n_boot} replicates, wall (s)",
            ours_b,
            "<= 300 for 4000",
            ours_b <= 300 if full else None,
            "" if full else "smaller than the target workload",
        ),
        check(
            "W1 bootstrap: speed-up vs exhaustive scipy (extrapolated)",
            ratio(ex_total, ours_b),
            ">= 400",
            None if ex_total is None else ratio(ex_total, ours_b) >= 400,
        ),
        check(
            "W1 bootstrap: speed-up vs scipy warm starts (extrapolated)",
            ratio(warm["tight"], ours_b),
            ">= 5",
            None if warm["tight"] is None else ratio(warm["tight"], ours_b) >= 5,
        ),
        check(
            f"W1 bootstrap: {len(pick)} sampled replicates equal exhaustive optimum (max rel diff)",
            max_diff,
            "<= 1e-3 on >= 20",
            bool(max_diff is not None and max_diff <= 1e-3 and len(pick) >= 20 and recon_ok),
            "" if recon_ok else "resample weights could not be reconstructed",
        ),
        check(
            "W1 bootstrap: 95% intervals vs published (max abs err)",
            int_err,
            "<= 0.01",
            int_err <= 0.01,
            "; ".join(f"{k} {v[0]:.3f}-{v[1]:.3f}" for k, v in intervals.items()),
        ),
    ]
    rec.targets(targets)


if __name__ == "__main__":
    main()
