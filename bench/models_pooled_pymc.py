"""A partially pooled fit of Observational Scaling Laws' MMLU (about 110 models, 40 families)
against the same model in PyMC with its default sampler (issue 21).

Model (both): ``mmlu ~ Beta(mu phi, (1 - mu) phi)``,
``mu = 0.25 + (ceiling - 0.25) sigmoid(slope (log10 C - c - midpoint_j))`` for family j, with
``midpoint_j = midpoint + midpoint_sd z_j`` (non-centred), priors ``ceiling ~ U(0.5, 1)``,
``slope ~ HalfNormal(3)``, ``midpoint ~ N(0, 2)``, ``midpoint_sd ~ HalfNormal(1)``,
``z_j ~ N(0, 1)``, ``phi ~ Gamma(2, 0.02)`` (``scaling``'s defaults for ``logistic`` with
``floor=0.25`` and ``pooled=("midpoint",)``). Reported: wall time of the first fit (compile
included) and of a second one, the smallest bulk ESS over the population parameters and
ESS per second, and the posterior medians. Same draws for both: ``NUTS`` settings below.

Usage: ``SCALING_DATA_DIR=... python bench/models_pooled_pymc.py [out.md]``.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
import pandas as pd

import scaling
from scaling.data import registry

WARMUP, DRAWS, CHAINS = 500, 500, 2
NAMES = ("ceiling", "slope", "midpoint", "midpoint_sd", "phi")


def data() -> pd.DataFrame:
    return registry.load("obsscaling").dropna(subset=["training_flop", "mmlu"])


def ess_table(dt) -> dict[str, float]:
    import arviz_stats as azs

    post = dt["posterior"].to_dataset() if hasattr(dt["posterior"], "to_dataset") else dt.posterior
    ess = azs.ess(post[list(NAMES)], method="bulk")
    return {n: float(ess[n]) for n in NAMES}


def run_scaling(df: pd.DataFrame, seed: int) -> tuple[float, object]:
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = scaling.fit(
            df,
            "logistic",
            x="training_flop",
            y="mmlu",
            law_options={"floor": 0.25},
            group="family",
            pooled=("midpoint",),
            num_warmup=WARMUP,
            num_samples=DRAWS,
            num_chains=CHAINS,
            seed=seed,
        )
    return time.perf_counter() - t, dt


def run_pymc(df: pd.DataFrame, seed: int) -> tuple[float, object]:
    import pymc as pm

    u = np.log10(df["training_flop"].to_numpy())
    u = u - u.mean()
    codes, families = pd.factorize(df["family"], sort=True)
    t = time.perf_counter()
    with pm.Model(coords={"group": list(families)}):
        ceiling = pm.Uniform("ceiling", 0.5, 1.0)
        slope = pm.HalfNormal("slope", 3.0)
        midpoint = pm.Normal("midpoint", 0.0, 2.0)
        sd = pm.HalfNormal("midpoint_sd", 1.0)
        z = pm.Normal("midpoint_z", 0.0, 1.0, dims="group")
        phi = pm.Gamma("phi", alpha=2.0, beta=0.02)
        mu = 0.25 + (ceiling - 0.25) * pm.math.sigmoid(slope * (u - (midpoint + sd * z)[codes]))
        mu = pm.math.clip(mu, 1e-6, 1 - 1e-6)
        pm.Beta("y", alpha=mu * phi, beta=(1 - mu) * phi, observed=df["mmlu"].to_numpy())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            idata = pm.sample(draws=DRAWS, tune=WARMUP, chains=CHAINS, random_seed=seed, progressbar=False)
    return time.perf_counter() - t, idata


def main(out: str | None = None) -> pd.DataFrame:
    df = data()
    rows = []
    for name, runner in (("scaling", run_scaling), ("pymc", run_pymc)):
        for attempt, seed in (("first", 1), ("second", 2)):
            wall, dt = runner(df, seed)
            ess = ess_table(dt)
            medians = {f"median_{n}": float(dt.posterior[n].median()) for n in NAMES}
            rows.append(
                {
                    "sampler": name,
                    "fit": attempt,
                    "wall_s": wall,
                    "min_ess_bulk": min(ess.values()),
                    "ess_per_s": min(ess.values()) / wall,
                    **medians,
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    if out:
        from scaling.io import atomic_write

        text = (
            f"# Partially pooled ObsScaling fit: scaling vs PyMC ({len(df)} models, {df.family.nunique()} "
            f"families; {CHAINS} chains x {WARMUP} + {DRAWS})\n\n```\n{table.to_string(index=False)}\n```\n"
        )
        atomic_write(out, lambda tmp: tmp.write_text(text))
    return table


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else None).to_string())
