"""Shared helpers for the benchmark scripts: timing, JSON lines, machine info, quality figures.

Every script prints one JSON line per method (and one ``targets`` line per workload) to stdout and
appends the same lines to ``bench/results/<workload>.jsonl`` (``bench/results/quick/`` for
``--quick`` smoke runs). A line has at least::

    {"workload": "w1", "method": "...", "run_id": "...", "median_s": ..., "compile_s": ...,
     "repeats": ..., "times_s": [...], "first_s": ..., ...quality fields...}

``first_s`` is the first (warm-up) call, ``median_s`` the median of the timed repeats after it (the
first call's time when ``--repeats 0``) and ``compile_s = first_s - median_s`` (the one-off cost:
tracing, compilation, caches). ``cpu_s`` is the process (or child-process) CPU time over the timed
repeats: with ``cpu_s`` well below ``median_s * cores`` the machine was busy with something else.
Fields named ``*_extrapolated`` (and ``"extrapolated": true``) are scaled up from a measured
subset, never measured in full.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Ours runs as the CLI runs it: one JAX CPU device per core, so the engine spreads chains and problems
# over every core (a value set in the environment wins). Must precede JAX's import.
os.environ.setdefault("JAX_NUM_CPU_DEVICES", str(os.cpu_count() or 1))

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable

#: Published Besiroglu et al. (2024) values on the 240 Chinchilla points.
EPOCH_OPTIMUM = {"alpha": 0.3473, "beta": 0.3672, "E": 1.817, "loss": 0.0010183}
EPOCH_INTERVALS = {"alpha": (0.317, 0.373), "beta": (0.331, 0.415), "E": (1.769, 1.871)}


def run_id() -> str:
    """One id per script invocation: UTC time plus a short random suffix (sorts by time)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _cpu(children: bool) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def time_call(
    fn: Callable[[int], Any],
    repeats: int = 3,
    warmup: bool = True,
    children: bool = False,
) -> dict[str, Any]:
    """Time ``fn(i)``: one warm-up call (``i = 0``), then ``repeats`` timed calls (``i = 1..``).

    ``fn`` gets the call index (use it as a seed where a fresh problem is wanted). Returns
    ``first_s`` (the warm-up call; ``None`` without warm-up), ``median_s``, ``compile_s``
    (``first_s - median_s``; None without timed repeats), ``times_s``, ``cpu_s`` (CPU seconds
    over the timed calls, of this process or, with ``children=True``, of finished child
    processes), ``results`` (every call's return value, warm-up first).
    """
    results, times = [], []
    first = None
    if warmup:
        t = time.perf_counter()
        results.append(fn(0))
        first = time.perf_counter() - t
    cpu0 = _cpu(children)
    for i in range(1, repeats + 1):
        t = time.perf_counter()
        results.append(fn(i))
        times.append(time.perf_counter() - t)
    cpu = _cpu(children) - cpu0
    med = statistics.median(times) if times else first
    return {
        "first_s": first,
        "median_s": med,
        "compile_s": None if first is None or not times else max(0.0, first - med),
        "times_s": times,
        "repeats": len(times),
        "cpu_s": cpu,
        "results": results,
    }


def timing_fields(t: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready part of :func:`time_call`'s result (without ``results``)."""
    return {k: v for k, v in t.items() if k != "results"}


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git() -> dict[str, Any]:
    def out(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": out("rev-parse", "--short", "HEAD"), "dirty": bool(out("status", "--porcelain", "--", "scaling"))}


def python_loop_s(n: int = 2_000_000) -> float:
    """Seconds for a fixed pure-Python loop (``n`` additions), best of 3: how fast this machine runs
    Python right now. A shared VM's speed varies between sessions (by 1.5x here), which moves
    absolute timings such as W0's but not the ratios measured in one run."""
    best = float("inf")
    for _ in range(3):
        t, total = time.perf_counter(), 0
        for i in range(n):
            total += i
        best = min(best, time.perf_counter() - t)
    return best


def machine_info(jax_devices: bool = True) -> dict[str, Any]:
    """CPU model, cores, load, Python speed (:func:`python_loop_s`), jax backend and devices, library
    versions, git commit."""
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "loadavg": list(os.getloadavg()),
        "python_loop_s": python_loop_s(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            d: _version(d)
            for d in ("scaling", "jax", "jaxlib", "numpyro", "optax", "numpy", "scipy", "arviz", "pymc", "pytensor")
        },
        "git": _git(),
    }
    if jax_devices:
        import jax

        info["jax_backend"] = jax.default_backend()
        info["jax_devices"] = [str(d) for d in jax.devices()]
    return info


def results_path(workload: str, quick: bool) -> Path:
    return (RESULTS / "quick" if quick else RESULTS) / f"{workload}.jsonl"


class Recorder:
    """Prints and appends JSON lines for one script invocation (one ``run_id``)."""

    def __init__(self, workload: str, args: Any, quick: bool, out: Path | None = None):
        self.workload = workload
        self.run_id = run_id()
        self.quick = bool(quick)
        self.path = out or results_path(workload, quick)
        self.args = vars(args) if hasattr(args, "__dict__") else dict(args or {})
        self.command = " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
        self.started = time.time()

    def emit(self, method: str, **fields: Any) -> dict[str, Any]:
        record = {
            "workload": self.workload,
            "method": method,
            "run_id": self.run_id,
            "quick": self.quick,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            **fields,
        }
        line = json.dumps(record, default=_json_default)
        print(line, flush=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(line + "\n")
        return record

    def machine(self) -> dict[str, Any]:
        """Emit the ``machine`` line (call once, at the start)."""
        return self.emit("machine", machine=machine_info(), args=self.args, command=self.command)

    def targets(self, checks: list[dict[str, Any]]) -> dict[str, Any]:
        """Emit the ``targets`` line: ``[{"target", "value", "threshold", "met", "note"}]``.

        In a ``--quick`` run no target is judged (``met`` is None; ``met_if_full`` keeps the comparison).
        """
        if self.quick:
            checks = [
                c | {"met": None, "met_if_full": c["met"], "note": ("quick run, not judged. " + c["note"]).strip()}
                for c in checks
            ]
        return self.emit(
            "targets",
            targets=checks,
            wall_total_s=time.time() - self.started,
            loadavg_end=list(os.getloadavg()),
        )


def check(target: str, value: Any, threshold: str, met: bool | None, note: str = "") -> dict[str, Any]:
    """One row of the ``targets`` line (``met=None``: not measured in this run)."""
    return {"target": target, "value": value, "threshold": threshold, "met": met, "note": note}


def _json_default(o: Any) -> Any:
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(o, Path):
        return str(o)
    return str(o)


def posterior_quality(draws: dict[str, Any]) -> dict[str, Any]:
    """Min bulk ESS, min tail ESS and max rank R-hat over parameters; arrays are (chain, draw)."""
    import arviz as az
    import numpy as np

    ess_bulk, ess_tail, rhat = {}, {}, {}
    for name, a in draws.items():
        a = np.asarray(a, dtype=np.float64)
        ess_bulk[name] = float(az.ess(a, method="bulk"))
        ess_tail[name] = float(az.ess(a, method="tail", prob=0.1))
        rhat[name] = float(az.rhat(a))
    return {
        "min_ess_bulk": min(ess_bulk.values()),
        "min_ess_tail": min(ess_tail.values()),
        "max_rhat": max(rhat.values()),
        "ess_bulk": ess_bulk,
        "rhat": rhat,
    }


def per_problem_quality(draws: dict[str, Any], rhat_max: float = 1.01, ess_min: float = 400.0) -> dict[str, Any]:
    """Per-problem pass share for arrays shaped (chain, draw, problem): all params R-hat < max, bulk ESS > min."""
    import numpy as np

    names = list(draws)
    arrays = [np.asarray(draws[n], dtype=np.float64) for n in names]
    n_problems = arrays[0].shape[-1] if arrays[0].ndim == 3 else 1
    # ArviZ loops over problems in Python (about 15 ms per problem and parameter): 10,000 problems take
    # minutes, so large batches are split over processes (spawned: the parent has JAX's threads running)
    workers = min(os.cpu_count() or 1, n_problems // 500)
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        cuts = np.array_split(np.arange(n_problems), workers)
        parts = [[a[..., c[0] : c[-1] + 1] for a in arrays] for c in cuts]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = list(pool.map(_rhat_ess, parts))
        rh = np.concatenate([d[0] for d in done], axis=1)
        es = np.concatenate([d[1] for d in done], axis=1)
    else:
        rh, es = _rhat_ess(arrays)
    ok = np.all((rh < rhat_max) & (es > ess_min), axis=0)
    return {
        "n_problems": int(ok.size),
        "pass_share": float(ok.mean()),
        "n_pass": int(ok.sum()),
        "min_ess_bulk": float(es.min()),
        "median_min_ess_bulk": float(np.median(es.min(axis=0))),
        "max_rhat": float(rh.max()),
        "pass_rule": f"all of {names}: rank R-hat < {rhat_max} and bulk ESS > {ess_min}",
    }


def _rhat_ess(arrays: list[Any]) -> tuple[Any, Any]:
    """Rank R-hat and bulk ESS, shaped (parameter, problem), of arrays shaped (chain, draw[, problem])."""
    import arviz as az
    import numpy as np

    rh = np.stack([np.atleast_1d(az.rhat(a)) for a in arrays])
    es = np.stack([np.atleast_1d(az.ess(a, method="bulk")) for a in arrays])
    return rh, es


def clean_jax_env() -> None:
    """Drop JAX persistent-cache settings inherited from the shell, so that children start as a user's would."""
    for var in (
        "JAX_COMPILATION_CACHE_DIR",
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES",
    ):
        os.environ.pop(var, None)


def child_json(cmd: list[str], env: dict[str, str] | None = None, timeout: float | None = None) -> dict[str, Any]:
    """Run a child process whose last stdout line is JSON; return it with the child's wall time.

    ``wall_s`` is process start to exit, measured here; ``cpu_s`` is the child's CPU time.
    """
    cpu0 = _cpu(children=True)
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, cwd=REPO
    )
    wall = time.perf_counter() - t
    cpu = _cpu(children=True) - cpu0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    out.update(wall_s=wall, cpu_s=cpu)
    return out


def emit_child(payload: dict[str, Any]) -> None:
    """Print a child's result as the last stdout line (read by :func:`child_json`)."""
    print(json.dumps(payload, default=_json_default), flush=True)


def ratio(baseline: float | None, ours: float | None) -> float | None:
    """``baseline / ours`` (a speed-up), or None when either is missing."""
    if baseline is None or ours is None or ours <= 0:
        return None
    return baseline / ours


def add_common_args(parser: Any, repeats: int = 3) -> None:
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not results")
    parser.add_argument(
        "--repeats", type=int, default=None, help=f"timed repeats after the warm-up (default {repeats})"
    )
    parser.add_argument("--out", type=Path, default=None, help="JSON-lines file to append to")


def repeats_arg(args: Any, quick: int = 1, default: int = 3) -> int:
    """``--repeats`` as given (0 included: the warm-up call only), else ``quick``/``default``."""
    if args.repeats is not None:
        if args.repeats < 0:
            raise SystemExit(f"--repeats must be >= 0. Got {args.repeats}.")
        return args.repeats
    return quick if args.quick else default


def logistic_beta_model():
    """The ``logistic`` law with a beta likelihood and the library's default priors, as plain numpyro.

    ``u`` is log10 compute minus its mean, ``y`` the score (a fraction).
    """
    import jax
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    def model(u, y):
        floor = numpyro.sample("floor", dist.Uniform(0.0, 0.5))
        ceiling = numpyro.sample("ceiling", dist.Uniform(0.5, 1.0))
        slope = numpyro.sample("slope", dist.HalfNormal(3.0))
        midpoint = numpyro.sample("midpoint", dist.Normal(0.0, 2.0))
        phi = numpyro.sample("phi", dist.Gamma(2.0, 0.02))
        mu = floor + (ceiling - floor) * jax.nn.sigmoid(slope * (u - midpoint))
        mu = jnp.clip(mu, 1e-6, 1.0 - 1e-6)
        with numpyro.plate("point", u.shape[0]):
            numpyro.sample("y", dist.Beta(mu * phi, (1.0 - mu) * phi), obs=y)

    return model
