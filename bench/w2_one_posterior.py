"""W2: one posterior. NUTS, 4 chains x 1,000 warm-up x 1,000 draws, logistic law of MMLU against
log10 training FLOP on the Observational Scaling Laws table (registry name ``obsscaling``; the rows
with a training-FLOP estimate, ~110 points), beta likelihood, the law's default priors::

    floor ~ U(0, 0.5), ceiling ~ U(0.5, 1), slope ~ HalfNormal(3), midpoint ~ N(0, 2), phi ~ Gamma(2, 0.02)
    mu = floor + (ceiling - floor) sigmoid(slope (log10 C - mean log10 C - midpoint))
    mmlu ~ Beta(mu phi, (1 - mu) phi)

Methods, each in its own fresh process (so its first fit pays every one-off cost):

* ``ours``: ``scaling.fit(df, "logistic", x="training_flop", y="mmlu", dropna=True, seed=i)``;
* ``ours_jax_cache``: the same with the persistent JAX compilation cache (on by default; ``ours`` runs
  with ``SCALING_JAX_CACHE=off``), in a second process
  (a first one, ``cold_cache_first_s``, filled the empty cache folder);
* ``numpyro_default``: the same model written plainly, ``MCMC(NUTS(model), num_warmup=1000,
  num_samples=1000, num_chains=4)`` with numpyro's defaults (a new MCMC object per fit, as a loop
  over datasets would; ``progress_bar=False`` since output is not a terminal; no persistent
  compilation cache);
* ``numpyro_reuse``: the same, but one MCMC object re-run with new keys (numpyro then reuses its
  compiled sampler);
* ``pymc_default``: the same model in PyMC, ``pm.sample(draws=1000, tune=1000, chains=4)`` with
  PyMC's defaults (cores: PyMC's choice, recorded; ``progressbar=False``; PyTensor's own on-disk
  compile cache as PyMC leaves it, so warm after any earlier PyMC run: ``pytensor_compiledir_existed``);
* ``pymc_empty_cache``: ``pymc_default`` with empty PyTensor and numba caches (``PYTENSOR_FLAGS=compiledir=...``,
  ``NUMBA_CACHE_DIR``), so its first fit compiles everything, as ``ours`` does with the JAX cache off.

In each process: fit 0 (first_s: imports done, everything else included), then ``--repeats`` more
fits with other seeds (median_s). Quality per fit: min bulk ESS over the five sampled parameters,
max rank R-hat, ESS/s = min bulk ESS / wall time of the fit call.

    python bench/w2_one_posterior.py            # full run (about 5-10 min on 2 cores)
    python bench/w2_one_posterior.py --quick    # 100 + 100 draws, 1 repeat
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from common import (
    PYTHON,
    Recorder,
    add_common_args,
    check,
    child_json,
    clean_jax_env,
    emit_child,
    logistic_beta_model,
    posterior_quality,
    ratio,
    repeats_arg,
)

PARAMS = ("floor", "ceiling", "slope", "midpoint", "phi")
SCRIPT = Path(__file__).resolve()


def load_data():
    """(DataFrame, centred log10 FLOP, MMLU) for the rows with a training-FLOP estimate."""
    import numpy as np

    import scaling

    df = scaling.datasets.load("obsscaling")
    df = df.dropna(subset=["training_flop", "mmlu"])
    lx = np.log10(df["training_flop"].to_numpy(dtype=np.float64))
    return df, lx - lx.mean(), df["mmlu"].to_numpy(dtype=np.float64)


# --------------------------------------------------------------------------- the three methods


def fitter_ours(settings):
    import scaling

    df, _, _ = load_data()

    def fit(seed: int):
        dt = scaling.fit(
            df, "logistic", x="training_flop", y="mmlu", dropna=True, seed=seed, progress=False, **settings
        )
        post = dt["posterior"]
        return {k: post[k].values for k in PARAMS}, {"divergences": int(dt["sample_stats"]["diverging"].sum())}

    return fit, {"n_points": len(df)}


def fitter_numpyro(settings, reuse: bool = False):
    import jax
    import jax.numpy as jnp
    import numpy as np
    from numpyro.infer import MCMC, NUTS

    _, u, y = load_data()
    # plain numpyro compiles in each new process: no persistent cache (loading the data imported scaling,
    # which turned it on)
    jax.config.update("jax_enable_compilation_cache", False)

    model = logistic_beta_model()
    warnings.filterwarnings("ignore", message="There are not enough devices")  # numpyro's fallback notice

    def new_mcmc():
        return MCMC(
            NUTS(model),
            num_warmup=settings["num_warmup"],
            num_samples=settings["num_samples"],
            num_chains=settings["num_chains"],
            progress_bar=False,
        )

    kept = new_mcmc()

    def fit(seed: int):
        mcmc = kept if reuse else new_mcmc()
        mcmc.run(jax.random.PRNGKey(seed), jnp.asarray(u), jnp.asarray(y), extra_fields=("diverging",))
        s = mcmc.get_samples(group_by_chain=True)
        div = int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum())
        return {k: np.asarray(s[k]) for k in PARAMS}, {"divergences": div, "chain_method": mcmc.chain_method}

    return fit, {"n_points": len(y), "jax_devices": len(jax.devices())}


def fitter_pymc(settings):
    import logging

    import pymc as pm
    import pytensor
    import pytensor.tensor as pt

    _, u, y = load_data()
    messages: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())

    logging.getLogger("pymc").addHandler(Grab())

    def fit(seed: int):
        with pm.Model():
            floor = pm.Uniform("floor", 0.0, 0.5)
            ceiling = pm.Uniform("ceiling", 0.5, 1.0)
            slope = pm.HalfNormal("slope", 3.0)
            midpoint = pm.Normal("midpoint", 0.0, 2.0)
            phi = pm.Gamma("phi", alpha=2.0, beta=0.02)
            mu = floor + (ceiling - floor) * pm.math.sigmoid(slope * (u - midpoint))
            mu = pt.clip(mu, 1e-6, 1.0 - 1e-6)
            pm.Beta("y", alpha=mu * phi, beta=(1.0 - mu) * phi, observed=y)
            idata = pm.sample(
                draws=settings["num_samples"],
                tune=settings["num_warmup"],
                chains=settings["num_chains"],
                random_seed=seed,
                progressbar=False,
            )
        post = idata["posterior"]
        div = int(idata["sample_stats"]["diverging"].values.sum())
        how = [m for m in messages if "job" in m]
        return {k: post[k].values for k in PARAMS}, {"divergences": div, "pymc_says": how[-1] if how else None}

    mode = pytensor.compile.mode.get_default_mode()
    cache = Path(pytensor.config.compiledir)
    return fit, {
        "n_points": len(y),
        "pytensor_linker": type(mode.linker).__name__,
        "pytensor_compiledir": str(cache),
        "pytensor_compiledir_existed": cache.exists() and any(cache.iterdir()),
    }


def fitter_ours_cached(settings):
    """``ours`` with the persistent JAX compilation cache ``import scaling`` turns on (``$SCALING_JAX_CACHE``)."""
    return fitter_ours(settings)


FITTERS = {
    "ours": fitter_ours,
    "ours_jax_cache": fitter_ours_cached,
    "numpyro_default": fitter_numpyro,
    "numpyro_reuse": lambda settings: fitter_numpyro(settings, reuse=True),
    "pymc_default": fitter_pymc,
    "pymc_empty_cache": fitter_pymc,
}


def child(method: str, n_fits: int, settings: dict) -> None:
    """Run in a fresh process: import, then ``n_fits`` timed fits (seed 0 first)."""
    t_imp = time.perf_counter()
    fit, info = FITTERS[method](settings)
    info["setup_s"] = time.perf_counter() - t_imp
    fits = []
    for seed in range(n_fits):
        t = time.perf_counter()
        draws, extra = fit(seed)
        wall = time.perf_counter() - t
        q = posterior_quality(draws)
        fits.append(
            {
                "seed": seed,
                "wall_s": wall,
                "min_ess_bulk": q["min_ess_bulk"],
                "max_rhat": q["max_rhat"],
                "ess_per_s": q["min_ess_bulk"] / wall,
                "ess_bulk": q["ess_bulk"],
                **extra,
            }
        )
    emit_child({"method": method, "fits": fits, **info})


# --------------------------------------------------------------------------- main


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--methods", default=",".join(FITTERS), help="comma-separated (default: all)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--fits", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=int, default=None, help="NUTS warm-up steps (default 1000; quick 100)")
    p.add_argument("--draws", type=int, default=None, help="draws per chain (default 1000; quick 100)")
    p.add_argument("--chains", type=int, default=4)
    args = p.parse_args()
    q = args.quick
    settings = {
        "num_warmup": args.warmup or (100 if q else 1000),
        "num_samples": args.draws or (100 if q else 1000),
        "num_chains": args.chains,
    }
    if args.child:
        child(args.child, args.fits, settings)
        return
    repeats = repeats_arg(args)
    clean_jax_env()
    rec = Recorder("w2", args, q, args.out)
    rec.machine()
    out = {}
    cache_dir = Path(tempfile.mkdtemp(prefix="scaling-w2-jax-"))
    for method in args.methods.split(","):

        def cmd(fits: int, method: str = method) -> list[str]:
            return [PYTHON, str(SCRIPT), "--child", method, "--fits", str(fits), "--chains", str(args.chains)] + [
                "--warmup",
                str(settings["num_warmup"]),
                "--draws",
                str(settings["num_samples"]),
            ]

        # `import scaling` turns the persistent cache on: off for `ours` (its first fit compiles everything)
        env = {"SCALING_JAX_CACHE": str(cache_dir) if method == "ours_jax_cache" else "off"}
        if method == "pymc_empty_cache":  # PyTensor's compile folder and numba's cache (PyTensor's numba linker)
            env |= {
                "PYTENSOR_FLAGS": f"compiledir={cache_dir / 'pytensor'}",
                "NUMBA_CACHE_DIR": str(cache_dir / "numba"),
            }
        extra = {}
        if method == "pymc_empty_cache":  # recorded here: the child's own check runs after `import pytensor` fills it
            extra["caches_empty_at_start"] = not (cache_dir / "pytensor").exists()
        if method == "ours_jax_cache":  # a first process fills the empty cache; the timed one reads it
            cold = child_json(cmd(1), env=env)
            extra = {"cold_cache_first_s": cold["fits"][0]["wall_s"], "cold_cache_process_wall_s": cold["wall_s"]}
        r = child_json(cmd(repeats + 1), env=env) | extra
        fits = r.pop("fits")
        first, later = fits[0], fits[1:]
        med = statistics.median(f["wall_s"] for f in later) if later else None
        out[method] = {"first": first, "later": later, "median_s": med}
        rec.emit(
            method,
            first_s=first["wall_s"],
            median_s=med,
            compile_s=None if med is None else max(first["wall_s"] - med, 0.0),
            times_s=[f["wall_s"] for f in later],
            repeats=len(later),
            process_wall_s=r["wall_s"],
            process_cpu_s=r["cpu_s"],
            setup_s=r.get("setup_s"),
            settings=settings,
            first_ess_per_s=first["ess_per_s"],
            median_ess_per_s=statistics.median(f["ess_per_s"] for f in later) if later else None,
            min_ess_per_s_later=min(f["ess_per_s"] for f in later) if later else None,
            max_rhat=max(f["max_rhat"] for f in fits),
            min_ess_bulk=min(f["min_ess_bulk"] for f in fits),
            divergences=[f.get("divergences") for f in fits],
            fits=fits,
            **{k: v for k, v in r.items() if k not in ("wall_s", "cpu_s", "setup_s", "method")},
            note="first_s: fit 0 in a fresh process (after imports and data loading); median_s: the later fits",
        )
    shutil.rmtree(cache_dir, ignore_errors=True)
    targets = []
    if "ours" in out and "pymc_default" in out:
        o, pm = out["ours"], out["pymc_default"]
        pm_later = statistics.median(f["ess_per_s"] for f in pm["later"]) if pm["later"] else pm["first"]["ess_per_s"]
        worst = min((f["ess_per_s"] for f in o["later"]), default=None)
        r = ratio(worst, pm_later) if worst else None  # (ours ESS/s) / (PyMC ESS/s)
        targets.append(
            check(
                "W2: min bulk ESS/s of every later fit vs PyMC's (median later fit)",
                r,
                ">= 5",
                None if r is None else r >= 5,
                f"ours worst {worst:.1f}/s, PyMC {pm_later:.1f}/s" if worst else "",
            )
        )
    # first fit in a fresh process, ours against PyMC: (ours, PyMC, how their compile caches stand)
    for mine, theirs, caches in (
        ("ours", "pymc_default", ""),
        ("ours_jax_cache", "pymc_default", ", each library's compile cache warm"),
        ("ours", "pymc_empty_cache", ", each library's compile cache empty"),
    ):
        if mine in out and theirs in out:
            a, b = out[mine]["first"]["wall_s"], out[theirs]["first"]["wall_s"]
            targets.append(
                check(f"W2: first fit in a fresh process{caches}, wall ours / PyMC", a / b, "<= 1", a <= b,
                      f"ours {a:.1f} s, PyMC {b:.1f} s")
            )  # fmt: skip
    if "ours" in out:
        rh = max(f["max_rhat"] for f in [out["ours"]["first"], *out["ours"]["later"]])
        targets.append(check("W2: max R-hat (ours, every fit)", rh, "< 1.01", rh < 1.01))
    if settings["num_warmup"] < 1000 or settings["num_samples"] < 1000 or settings["num_chains"] != 4:
        targets.append(check("size", settings, "4 chains x 1000 + 1000", None, "not the target workload"))
    rec.targets(targets)


if __name__ == "__main__":
    sys.exit(main())
