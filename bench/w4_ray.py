"""W4: survey scale. ``--n`` small independent problems (20-point power laws, lognormal noise, known
exponents), 2 chains x 300 warm-up x 300 draws each, fitted in chunks of ``--chunk-size``:

* ``local``: ``scaling.fit_survey(..., chunk_size=...)`` in this one process (every local CPU device);
* ``ray``: the same with ``backend="ray"`` on a local Ray instance of ``--workers`` CPUs (each chunk a
  Ray task with one CPU and one JAX device), started before the clock runs;
* ``ray_overhead``: ``ray`` on chunks of one tiny problem each, minus their local cost: the fixed cost
  per chunk (task scheduling, shipping the inputs and the result DataTree).

Reported: wall time, problems per second, seconds per chunk, the share of problems whose posterior of
alpha covers the truth (90% interval), and whether ``ray`` equals ``local`` draw for draw. Each method
runs once after a warm-up run on ``--warm`` problems (so compilation is not timed: ``first_s``).

    python bench/w4_ray.py                 # n = 10,000 (about 10 min per method on 2 cores)
    python bench/w4_ray.py --quick         # n = 200, chunks of 50
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from common import Recorder, add_common_args, check

SETTINGS = {"num_warmup": 300, "num_samples": 300, "num_chains": 2}


def make(n: int, seed: int = 0) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    rng = np.random.default_rng(seed)
    data, alpha = {}, rng.uniform(0.05, 0.4, n)
    for i in range(n):
        x = 10 ** rng.uniform(18, 23, 20)
        data[f"s{i:05d}"] = {"flop": x, "loss": 3.0 * (x / 1e18) ** -alpha[i] * np.exp(0.05 * rng.normal(size=20))}
    return data, alpha


def run(data: dict, backend: str, chunk_size: int) -> tuple[float, object]:
    import scaling

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dt = scaling.fit_survey(
            data,
            "power_law",
            x="flop",
            y="loss",
            backend=backend,
            chunk_size=chunk_size,
            progress=False,
            **SETTINGS,
        )
    return time.perf_counter() - t, dt


def coverage(dt, alpha: np.ndarray) -> float:
    a = dt.posterior["alpha"].values.reshape(-1, dt.posterior.sizes["problem"])
    lo, hi = np.quantile(a, [0.05, 0.95], axis=0)
    return float(np.mean((lo <= alpha) & (alpha <= hi)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(p, repeats=1)
    p.add_argument("--n", type=int, default=None, help="problems (default 10,000; quick 200)")
    p.add_argument("--chunk-size", type=int, default=None, help="problems per chunk (default 500; quick 50)")
    p.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray instance")
    p.add_argument("--warm", type=int, default=None, help="problems of the untimed warm-up run")
    args = p.parse_args()
    q = args.quick
    n = args.n or (200 if q else 10_000)
    size = args.chunk_size or (50 if q else 500)
    rec = Recorder("w4", args, q, args.out)
    rec.machine()
    data, alpha = make(n)
    warm = dict(list(data.items())[: args.warm or 2 * size])

    first, _ = run(warm, "local", size)
    wall, local = run(data, "local", size)
    n_chunks = -(-n // size)
    rec.emit(
        "local",
        n_problems=n,
        chunk_size=size,
        n_chunks=n_chunks,
        first_s=first,
        median_s=wall,
        problems_per_s=n / wall,
        s_per_chunk=wall / n_chunks,
        coverage_90=coverage(local, alpha),
        settings=SETTINGS,
    )

    import ray

    t = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    start_s = time.perf_counter() - t
    first_r, _ = run(warm, "ray", size)  # workers start, import and compile
    wall_r, remote = run(data, "ray", size)
    same = bool(np.allclose(remote.posterior["alpha"].values, local.posterior["alpha"].values, rtol=1e-5, atol=1e-6))
    rec.emit(
        "ray",
        n_problems=n,
        chunk_size=size,
        n_chunks=n_chunks,
        workers=args.workers,
        ray_start_s=start_s,
        first_s=first_r,
        median_s=wall_r,
        problems_per_s=n / wall_r,
        s_per_chunk=wall_r / n_chunks,
        coverage_90=coverage(remote, alpha),
        equals_local=same,
        settings=SETTINGS,
    )

    tiny = dict(list(data.items())[:40])
    local_tiny, _ = run(tiny, "local", 1)
    ray_tiny, _ = run(tiny, "ray", 1)
    rec.emit(
        "ray_overhead",
        n_chunks=len(tiny),
        local_s=local_tiny,
        ray_s=ray_tiny,
        overhead_s_per_chunk=(ray_tiny - local_tiny / args.workers) / len(tiny) * args.workers,
        note="chunks of one problem; overhead = (ray wall - local wall / workers) / chunks x workers",
    )
    ray.shutdown()
    rec.targets(
        [
            check("W4: ray equals local draw for draw", same, "true", same),
            check(
                "W4: problems/s, ray (2 workers) / local (1 process)",
                (n / wall_r) / (n / wall),
                "reported",
                None,
                "one process already uses both cores (2 JAX CPU devices), so ~1 is the expected ratio here",
            ),
        ]
    )


if __name__ == "__main__":
    main()
