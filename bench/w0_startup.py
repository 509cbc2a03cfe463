"""W0: start-up. A user's first ``scaling fit`` on a 30-point CSV, timed from process start to exit
(the result written), with a cold and with a warm JAX compilation cache.

Methods (each a fresh process; ``median_s`` over ``--repeats`` runs; the scaling package is
byte-compiled first, as after an install: :func:`byte_compile_package`):

* ``ours_bayes_cold`` / ``ours_bayes_warm``: ``scaling fit data.csv --law power_law --x flop --y loss
  --out DIR`` (NUTS, 4 chains x 1,000 + 1,000; writes fit.nc, summary.csv, diagnostics.json and the
  figure). Cold: every run gets a new, empty ``SCALING_JAX_CACHE`` folder; warm: runs after a first
  one that filled the folder.
* ``ours_point_cold`` / ``ours_point_warm``: the tiny point fit (Huber + L-BFGS, default starts), via
  ``scaling fit ... --method point`` when the CLI has it, else ``python -c`` calling
  ``scaling.fit_point`` and ``scaling.save`` under the CLI's cache settings (the line says which).
* ``pymc_cold`` / ``pymc_warm``: the same model (power law, lognormal, the library's default priors)
  in a PyMC script, ``pm.sample(draws=1000, tune=1000, chains=4)``, writing the InferenceData and a
  summary; cold: new empty PyTensor compile folder and Numba cache; warm: reused.

    python bench/w0_startup.py            # full run (about 3-5 min on 2 cores)
    python bench/w0_startup.py --quick    # 1 repeat each
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import Recorder, add_common_args, check, clean_jax_env, repeats_arg

BIN = Path(sys.executable).parent
SCALING = str(BIN / "scaling")

POINT_SCRIPT = """
import sys
import scaling  # turns on the persistent compilation cache
dt = scaling.fit_point(sys.argv[1], "power_law", x="flop", y="loss")
scaling.save(dt, sys.argv[2])
"""

PYMC_SCRIPT = """
import sys
import numpy as np
import pandas as pd
import pymc as pm
import arviz as az

df = pd.read_csv(sys.argv[1])
lx = np.log10(df["flop"].to_numpy())
u = lx - lx.mean()
y = df["loss"].to_numpy()
log_scale = np.log(y).mean()
with pm.Model():
    log_y0 = pm.Normal("log_y0", 0.0, 2.0)
    alpha = pm.Normal("alpha", 0.0, 1.0)
    sigma = pm.HalfNormal("sigma", 0.5)
    pm.LogNormal("y", mu=log_y0 + log_scale - alpha * np.log(10.0) * u, sigma=sigma, observed=y)
    idata = pm.sample(draws=1000, tune=1000, chains=4, random_seed=0, progressbar=False)
idata.to_netcdf(sys.argv[2] + "/fit.nc")
az.summary(idata).to_csv(sys.argv[2] + "/summary.csv")
"""


def write_csv(path: Path, n: int = 30, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = np.logspace(18, 23, n)
    y = 3.0 * (x / 1e18) ** -0.1 * np.exp(0.03 * rng.normal(size=n))
    path.write_text("flop,loss\n" + "".join(f"{a:.6e},{b:.6f}\n" for a, b in zip(x, y, strict=True)))


def byte_compile_package() -> None:
    """Byte-compile the scaling package, as pip does at a (non-editable) install and Python at a first
    import: where ``PYTHONDONTWRITEBYTECODE`` is set (as in some sandboxes) every run would otherwise
    compile the package's source again (about 0.1 s), which no user's warm start pays."""
    import compileall

    import scaling

    compileall.compile_dir(str(Path(scaling.__file__).parent), quiet=1)


def cli_has_point() -> bool:
    out = subprocess.run(
        [SCALING, "fit", "--help"], capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}
    )
    return "--method" in out.stdout


def timed(cmd: list[str], env: dict[str, str], must_exist: Path) -> dict:
    if must_exist.exists():
        if must_exist.is_dir():
            shutil.rmtree(must_exist)
        else:
            must_exist.unlink()
    t = time.perf_counter()
    proc = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0 or not must_exist.exists():
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return {"wall_s": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p)
    p.add_argument("--methods", default="ours_bayes,ours_point,pymc", help="comma-separated")
    args = p.parse_args()
    repeats = repeats_arg(args)
    rec = Recorder("w0", args, args.quick, args.out)
    rec.machine()
    byte_compile_package()
    methods = args.methods.split(",")
    root = Path(tempfile.mkdtemp(prefix="scaling-w0-"))
    csv = root / "data.csv"
    write_csv(csv)
    base_env = {"MPLBACKEND": "Agg"}
    clean_jax_env()  # let the CLI's own cache settings apply
    results: dict[str, dict] = {}

    def run_pair(name: str, make_cmd, make_env, result: Path, extra: dict) -> None:
        cold = []
        for i in range(repeats):
            cache = root / f"{name}-cold-{i}"
            cold.append(timed(make_cmd(cache), base_env | make_env(cache), result)["wall_s"])
        cache = root / f"{name}-warm"
        fill = timed(make_cmd(cache), base_env | make_env(cache), result)["wall_s"]
        warm = [timed(make_cmd(cache), base_env | make_env(cache), result)["wall_s"] for _ in range(repeats)]
        for kind, times in (("cold", cold), ("warm", warm)):
            med = statistics.median(times)
            results[f"{name}_{kind}"] = {"median_s": med}
            rec.emit(
                f"{name}_{kind}",
                median_s=med,
                compile_s=None,
                times_s=times,
                repeats=len(times),
                first_s=fill if kind == "warm" else None,
                **extra,
                note="process start to exit, result written; "
                + ("new empty cache folder per run" if kind == "cold" else "cache filled by the run in first_s"),
            )

    out_dir = root / "out"
    fit_cmd = [SCALING, "fit", str(csv), "--law", "power_law", "--x", "flop", "--y", "loss", "--out", str(out_dir)]
    if "ours_bayes" in methods:
        run_pair(
            "ours_bayes",
            lambda c: fit_cmd,
            lambda c: {"SCALING_JAX_CACHE": str(c)},
            out_dir,
            {"command": "scaling fit data.csv --law power_law --x flop --y loss --out DIR", "n_points": 30},
        )
    if "ours_point" in methods:
        if cli_has_point():
            cmd = lambda c: [*fit_cmd, "--method", "point"]  # noqa: E731
            how, result = "scaling fit data.csv --law power_law --x flop --y loss --method point --out DIR", out_dir
        else:
            nc = root / "point.nc"
            cmd = lambda c: [sys.executable, "-c", POINT_SCRIPT, str(csv), str(nc)]  # noqa: E731
            how, result = "python -c 'scaling.fit_point(...); scaling.save(...)' (CLI cache settings)", nc
        run_pair("ours_point", cmd, lambda c: {"SCALING_JAX_CACHE": str(c)}, result, {"command": how, "n_points": 30})
    if "pymc" in methods:
        script = root / "pymc_fit.py"
        script.write_text(PYMC_SCRIPT)
        pm_out = root / "pm_out"

        def pm_cmd(c: Path) -> list[str]:
            pm_out.mkdir(exist_ok=True)
            return [sys.executable, str(script), str(csv), str(pm_out)]

        run_pair(
            "pymc",
            pm_cmd,
            lambda c: {"PYTENSOR_FLAGS": f"compiledir={c}/pytensor", "NUMBA_CACHE_DIR": f"{c}/numba"},
            pm_out / "fit.nc",
            {"command": "python pymc_fit.py data.csv DIR (pm.sample defaults, 4 chains)", "n_points": 30},
        )
    shutil.rmtree(root, ignore_errors=True)

    def val(key: str) -> float | None:
        return results.get(key, {}).get("median_s")

    targets = []
    for key, limit in (("ours_bayes_warm", 6.0), ("ours_bayes_cold", 16.0), ("ours_point_warm", 2.0)):
        if val(key) is not None:
            targets.append(check(f"W0: {key} (s)", val(key), f"<= {limit:g}", val(key) <= limit))
    if val("pymc_warm") and val("ours_bayes_warm"):
        targets.append(
            check("W0: PyMC warm / ours warm (speed-up)", val("pymc_warm") / val("ours_bayes_warm"), "info", None)
        )
    rec.targets(targets)


if __name__ == "__main__":
    main()
