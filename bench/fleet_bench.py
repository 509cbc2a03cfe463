"""Fleet: commitment policies compared on revenue paths as one vectorised JAX program.

4,000 revenue paths x 10 years x 5 policies x 20 levels of each policy's knob (4 million
path-years per outcome), float64: sizing each policy's schedule, the fleet's capacity and cost,
revenue served, cash, balance, and every summary (P(cannot pay), expected gross profit and
revenue lost, worst year's cash, required revenue). Methods:

* ``program``: ``scaling.planning.policy_program`` on arrays already in memory (what a notebook
  slider calls), median of the timed repeats after a warm-up (compiling) call;
* ``compare_policies``: the public function, validation and the DataTree included.

Target (issue 23): under a second on 2 CPU cores.

    python bench/fleet_bench.py            # full size, 5 repeats
    python bench/fleet_bench.py --quick    # 500 paths, 1 repeat
"""

from __future__ import annotations

import argparse

import numpy as np
from common import Recorder, add_common_args, check, repeats_arg, time_call, timing_fields


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_args(parser, repeats=5)
    args = parser.parse_args()
    reps = repeats_arg(args, quick=1, default=5)
    n_paths, n_years = (500, 10) if args.quick else (4000, 10)

    import jax

    from scaling import planning as econ
    from scaling.planning.policies import policy_program

    rec = Recorder("fleet", args, args.quick)
    rec.machine()
    years = np.arange(2027, 2027 + n_years)
    mu = 20e9 * 2.5 ** np.arange(n_years)[None, :] * np.ones((n_paths, 1))
    paths = econ.correlated_paths(mu, 0.7, years, correlation=0.9, walk_sd=0.2, seed=0)
    naive = econ.correlated_paths(mu * 0.8, 0.4, years, correlation=0.9, seed=1)
    levels = econ.default_levels()
    v = econ.FleetAssumptions().vector()
    size = {"paths": n_paths, "years": n_years, "policies": levels.shape[0], "levels": levels.shape[1]}

    def run_program(_i: int) -> float:
        with jax.enable_x64(True):
            out = policy_program(paths, naive, levels, v)
            return float(jax.block_until_ready(out["p_cannot_pay"]).sum())

    t = time_call(run_program, repeats=reps)
    prog = rec.emit("program", **size, **timing_fields(t))
    t2 = time_call(lambda _i: econ.compare_policies(paths, years, naive=naive), repeats=reps)
    rec.emit("compare_policies", **size, **timing_fields(t2))
    full = n_paths == 4000 and not args.quick
    rec.targets(
        [
            check(
                "4,000 paths x 10 years x 5 policies x 20 levels in one program",
                prog["median_s"],
                "< 1 s",
                (prog["median_s"] < 1.0) if full else None,
                "median of the timed calls after the compiling one",
            )
        ]
    )


if __name__ == "__main__":
    main()
