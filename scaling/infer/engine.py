"""The compiled NUTS engine behind :func:`scaling.fit` and :func:`scaling.fit_many`.

numpyro's functional ``hmc(potential_fn_gen=..., algo="NUTS")`` kernel is jitted
**once** per (model, sampler settings) and mapped over a flat batch of
``problem x chain`` runs. Where the batch runs is chosen by its size (:func:`scaling.infer.devices.platform`,
``device="auto"``): on a machine with a GPU, a batch of at most :data:`~scaling.infer.devices.CPU_RUNS_PER_DEVICE`
runs per CPU device (a single fit, a few problems) runs on the CPU, which finishes it
sooner, and larger batches on the GPU. How the batch is mapped is chosen per device:

* ``"vmap"`` (default on GPU/TPU): all runs advance in lock-step in one program;
* ``"map"`` (default on CPU): ``jax.lax.map`` runs them one after another in one
  compiled program, so no run waits for the longest NUTS tree of another.

The runs are dealt into equal shares (:func:`scaling.infer.devices.local_devices`; share i takes runs i, i + n,
..., so the problems' chains are spread over the shares and the shares finish together),
each sampled by its own thread: one share per GPU, so a multi-GPU machine is used with no
change to user code; on CPU, one share per CPU device JAX was given (``JAX_NUM_CPU_DEVICES``,
which the CLI sets to the core count), all run on the first CPU device. Executions
of one compiled program from several threads use the cores in parallel, so the
programs are compiled once (:func:`compiled`) rather than once per CPU device.
Each share runs the same program a one-share run would, so the draws equal a
one-device run's with the same keys (``jax.shard_map`` would compile a different
program whose float32 rounding differs, and NUTS amplifies that).

Chains start near the prior medians (numpyro's ``init_to_median``: the median of
15 prior draws, different per chain). Our priors are centred on the data's scale,
so this is a sensible region; uniform starts in [-2, 2] on the unconstrained scale
left chains stuck in a narrow-noise corner of small fits (a 5-point revenue mapping).

Sampling proceeds in equal chunks of steps (one compiled chunk function), so a
progress bar can advance between chunks without recompiling. Across processes, JAX's
persistent compilation cache (:func:`scaling.enable_compilation_cache`) skips the compiles.

Memory: a run's sampler state is a few floats; its draws stay on the device until
the end (``runs x steps x parameters``); ``finish`` builds the pointwise
log-likelihood and replicated y in batches of runs of at most
:data:`FINISH_ELEMENTS` values in vmap mode. ``fit_survey(chunk_size=...)`` bounds
everything, host memory included, to one chunk of problems. With
``logging.getLogger("scaling.infer.engine")`` at INFO, each device's phases are logged
with their seconds as they end (compile, init, sampling, finish, to host).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scaling.errors import ScalingError
from scaling.infer.devices import local_devices, on_devices, platform
from scaling.models.likelihoods import Likelihood
from scaling.models.model import Model

log = logging.getLogger(__name__)


#: Number of times each engine function was traced (a trace precedes every compile).
TRACES: Counter[str] = Counter()


#: Most pointwise values (run x draw x point) one vmapped batch of ``finish`` builds at once.
FINISH_ELEMENTS = 2**25


STAT_FIELDS = ("diverging", "energy", "num_steps", "accept_prob", "step_size", "potential_energy")


def default_batch_mode(backend: str) -> str:
    """``"map"`` on CPU (sequential, no lock-step waste), ``"vmap"`` on accelerators
    (``backend``: a JAX platform name)."""
    return "map" if backend == "cpu" else "vmap"


def _batched(f, mode: str):
    if mode == "vmap":
        return jax.vmap(f)
    if mode == "map":
        return lambda *args: jax.lax.map(lambda a: f(*a), args)
    raise ScalingError(f"The 'batch_mode' parameter must be 'vmap', 'map' or 'auto'. Got {mode!r} instead.")


def phase_logger(label: str) -> Any:
    """``mark(name, tree=None)``: log at INFO, as ``label: name 1.23 s``, the seconds since the
    last mark, after waiting for ``tree`` (JAX dispatches asynchronously). Each phase is logged
    as it ends, so a long run shows where it is. Does nothing (and waits for nothing) unless
    ``logging.getLogger("scaling.infer.engine")`` is enabled for INFO."""
    enabled = log.isEnabledFor(logging.INFO)
    last = [time.perf_counter()]

    def mark(name: str, tree: Any = None) -> None:
        if enabled:
            jax.block_until_ready(tree)
            now = time.perf_counter()
            log.info("%s: %s %.2f s", label, name, now - last[0])
            last[0] = now

    return mark


def pad_runs(tree: Any, multiple: int) -> tuple[Any, int]:
    """Pad the leading axis of every leaf to a multiple of ``multiple`` by repeating the last row."""
    n = jax.tree.leaves(tree)[0].shape[0]
    extra = -n % multiple
    if extra == 0:
        return tree, n
    return jax.tree.map(lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], extra, axis=0)]), tree), n


def chunk_size(total: int, target_chunks: int = 20) -> int:
    """Largest divisor of ``total`` not above ``total / target_chunks`` (>= total/100), else total."""
    lo, hi = max(1, total // 100), max(1, total // target_chunks)
    divisors = [d for d in range(hi, lo - 1, -1) if total % d == 0]
    return divisors[0] if divisors else total


@lru_cache(maxsize=64)
def kernels(
    model: Model,
    num_warmup: int,
    chunk: int,
    max_tree_depth: int,
    target_accept: float,
    dense_mass: bool,
    mode: str,
    host_yrep: bool = False,
) -> tuple[Any, Any, Any]:
    """Jitted ``(init, run_chunk, finish)`` for a flat batch of runs; cached, so a second fit with the
    same structure and padded shapes compiles nothing.

    ``init(keys, data)`` returns the sampler state, which ``run_chunk(state, data)`` takes and
    returns (with the chunk's draws). ``host_yrep``: for a beta likelihood, ``finish`` returns the
    Beta parameters and replicated y is drawn on the host (:func:`host_beta`); else on the device.
    """
    from numpyro import handlers
    from numpyro.infer import init_to_median
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import constrain_fn, initialize_model, potential_energy

    likelihood, model = model.likelihood, model.numpyro()  # from here on, the numpyro model function

    def potential_gen(**data):
        return lambda z: potential_energy(model, (), data, z)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def init_one(key, data):
        k_init, k_run = jax.random.split(key)
        info = initialize_model(k_init, model, model_kwargs=data, init_strategy=init_to_median(num_samples=15))[0]
        return init_kernel(
            info,  # z with its potential energy and gradient, which initialize_model computed already
            num_warmup,
            model_kwargs=data,
            rng_key=k_run,
            max_tree_depth=max_tree_depth,
            target_accept_prob=target_accept,
            dense_mass=dense_mass,
        )

    def chunk_one(state, data):
        def body(s, _):
            s = sample_kernel(s, model_kwargs=data)
            stats = (s.diverging, s.energy, s.num_steps, s.accept_prob, s.adapt_state.step_size, s.potential_energy)
            return s, (s.z, stats)

        return jax.lax.scan(body, state, None, length=chunk)

    def finish_one(z, data, key):
        """Constrained draws (with deterministics), pointwise log-lik and replicated y
        (with ``host_yrep``, for beta likelihoods the Beta parameters instead: see :func:`host_beta`)."""
        theta = jax.vmap(lambda zz: constrain_fn(model, (), data, zz, return_deterministic=True))(z)
        keys = jax.random.split(key, jax.tree.leaves(z)[0].shape[0])

        def pointwise(th, k):
            tr = handlers.trace(handlers.seed(handlers.substitute(model, th), k)).get_trace(**data)
            fn = tr["y"]["fn"]
            ll = fn.log_prob(tr["y"]["value"])
            if host_yrep:
                beta = fn
                while not hasattr(beta, "concentration1"):  # under numpyro's mask/expand wrappers
                    beta = beta.base_dist
                yrep = jnp.stack(
                    [jnp.broadcast_to(c, fn.batch_shape) for c in (beta.concentration1, beta.concentration0)]
                )
            else:
                yrep = fn.sample(k)
            if likelihood.counts:
                yrep = yrep / data["n_trials"]
            mask = data.get("mask")
            if mask is not None:
                ll, yrep = jnp.where(mask, ll, jnp.nan), jnp.where(mask, yrep, jnp.nan)
            return ll, yrep

        ll, yrep = jax.vmap(pointwise)(theta, keys)
        return theta, ll, yrep

    def traced(name, f):
        def wrapper(*args):
            TRACES[name] += 1
            return f(*args)

        return jax.jit(wrapper)

    def finish(z, data, keys):
        if mode == "map":
            return _batched(finish_one, mode)(z, data, keys)
        # vmap: in batches of runs, so that the pointwise arrays being built stay under
        # FINISH_ELEMENTS values (10,000 30-point problems x 4 chains x 1,000 draws
        # would otherwise build 1.2e9-value log-likelihood and replicate arrays at once)
        runs, draws = jax.tree.leaves(z)[0].shape[:2]
        points = max(a.shape[1] if a.ndim > 1 else 1 for a in jax.tree.leaves(data))
        size = max(1, min(runs, FINISH_ELEMENTS // (draws * points)))
        return jax.lax.map(lambda a: finish_one(*a), (z, data, keys), batch_size=size)

    def init(keys, data):
        return _batched(init_one, mode)(keys, data)

    def run_chunk(state, data):
        return _batched(chunk_one, mode)(state, data)

    return traced("init", init), traced("chunk", run_chunk), traced("finish", finish)


#: :func:`compiled`'s executables, by structure, shapes and device (the 64 most recent).
_COMPILED: OrderedDict[tuple, tuple[Any, Any, Any]] = OrderedDict()
#: Tracing a numpyro model is not thread-safe (its effect handlers live on one global stack), so the
#: shares' threads trace and compile one at a time; sampling then runs in parallel.
_COMPILE_LOCK = threading.Lock()


def compiled(spec: tuple[Any, ...], d: Any, k: Any, num_samples: int) -> tuple[Any, Any, Any]:
    """``(init, run_chunk, finish)`` of :func:`kernels` ``(*spec)`` lowered and compiled (JAX's
    ahead-of-time API) for the shapes of ``d`` and ``k`` on their device; cached, and built by
    one thread at a time (see :data:`_COMPILE_LOCK`)."""
    leaves, treedef = jax.tree.flatten((d, k))
    device = next(iter(leaves[0].devices()))
    key = (spec, treedef, tuple((a.shape, str(a.dtype)) for a in leaves), device, num_samples)
    with _COMPILE_LOCK:
        if key not in _COMPILED:
            on = jax.sharding.SingleDeviceSharding(device)

            def placed(shapes: Any) -> Any:
                return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=on), shapes)

            init, run_chunk, finish = kernels(*spec)
            low_init = init.lower(k, d)
            low_chunk = run_chunk.lower(placed(low_init.out_info), d)
            z = low_chunk.out_info[1][0]  # run_chunk returns (state, (z, stats)); z: (run, step, ...)
            z = jax.tree.map(lambda a: jax.ShapeDtypeStruct((a.shape[0], num_samples, *a.shape[2:]), a.dtype), z)
            low_finish = finish.lower(placed(z), d, k)
            _COMPILED[key] = (low_init.compile(), low_chunk.compile(), low_finish.compile())
            while len(_COMPILED) > 64:
                _COMPILED.popitem(last=False)
        _COMPILED.move_to_end(key)
        return _COMPILED[key]


def yrep_on_host(likelihood: Likelihood, device: Any) -> bool:
    """Whether replicated y is drawn on the host (:func:`host_beta`): beta likelihoods on
    CPU devices, where XLA's gamma sampler is slow; accelerators draw it themselves."""
    return likelihood.name == "beta" and device.platform == "cpu"


def host_beta(keys: Any, params: np.ndarray) -> np.ndarray:
    """Replicated y of a beta likelihood, drawn with NumPy: ``Beta(a, b)`` with ``params``
    ``(run, draw, 2, point)`` holding ``a, b`` (NaN where a point is padding).

    Used on CPU devices only: XLA's CPU gamma sampler (``Beta(a, b) = G_a / (G_a + G_b)``,
    two gamma draws per value) is slower than NumPy's for this, and was the largest cost of a
    fit after sampling (timings in ``bench/``; an accelerator draws them itself, in ``finish``).
    Each run's generator is seeded from its own key, so the draws do not depend on how runs are
    batched or split over devices.
    """
    typed = jnp.issubdtype(keys.dtype, jax.dtypes.prng_key)
    data = np.asarray(jax.random.key_data(keys) if typed else keys).reshape(len(keys), -1)
    out = np.full(params[:, :, 0].shape, np.nan, dtype=params.dtype)
    ok = np.isfinite(params[:, :, 0])
    for r in range(len(keys)):
        rng = np.random.default_rng([int(v) for v in data[r]] + [2])
        out[r][ok[r]] = rng.beta(params[r, :, 0][ok[r]], params[r, :, 1][ok[r]])
    return out


def run(
    model: Model,
    data: dict[str, Any],
    keys: jax.Array,
    *,
    num_warmup: int,
    num_samples: int,
    max_tree_depth: int = 10,
    target_accept: float = 0.9,
    dense_mass: bool = True,
    batch_mode: str = "auto",
    device: str = "auto",
    progress: Any = None,
) -> dict[str, np.ndarray]:
    """Sample a flat batch of runs; ``data`` leaves and ``keys`` have a leading batch axis.

    ``device`` picks the platform (:func:`scaling.infer.devices.platform`: small batches on the CPU, large ones on
    an accelerator when there is one); ``batch_mode="auto"`` then maps the runs as suits it.

    Returns numpy arrays with leading ``(run, draw)`` axes: every posterior site
    (by name), ``"ll"`` and ``"yrep"`` (run, draw, point), and the sampler
    statistics in :data:`STAT_FIELDS` plus ``tree_depth``.
    """
    where = platform(len(keys), device)
    mode = default_batch_mode(where) if batch_mode == "auto" else batch_mode
    total = num_warmup + num_samples
    chunk = chunk_size(total)
    devices = local_devices(where)[: len(keys)]
    host_yrep = yrep_on_host(model.likelihood, devices[0])
    spec = (model, num_warmup, chunk, max_tree_depth, float(target_accept), bool(dense_mass), mode, host_yrep)
    (data, keys), n_runs = pad_runs((data, keys), len(devices))
    n_shares = len(devices)
    # share i takes runs i, i + n_shares, ...: the problems' chains are spread over the shares, so the
    # shares finish together even when some problems take longer than others
    parts = [jax.tree.map(lambda a, i=i: a[i::n_shares], (data, keys)) for i in range(n_shares)]

    def sample(part: tuple[Any, Any], device: Any) -> tuple[Any, ...]:
        mark = phase_logger(f"{device} ({len(part[1])} runs x {total} steps, {mode} mode)")
        d, k = jax.device_put(part, device)
        init, run_chunk, finish = compiled(spec, d, k, num_samples)
        mark("compile")
        state = init(k, d)
        mark("init", state)
        zs, stats = [], []
        for _ in range(total // chunk):
            state, (z, st) = run_chunk(state, d)
            zs.append(z)
            stats.append(st)
            if progress is not None:
                jax.block_until_ready(state)  # dispatch is asynchronous: wait, so the bar shows real progress
                progress(chunk / len(parts))
        mark("sampling", state)
        z = jax.tree.map(lambda *a: jnp.concatenate(a, axis=1)[:, num_warmup:], *zs)
        theta, ll, yrep = finish(z, d, jax.vmap(lambda key: jax.random.fold_in(key, 1))(k))
        mark("finish", (theta, ll, yrep))
        st = [
            np.concatenate([np.asarray(s[i]) for s in stats], axis=1)[:, num_warmup:] for i in range(len(STAT_FIELDS))
        ]
        result = {n: np.asarray(v) for n, v in theta.items()}, np.asarray(ll), np.asarray(yrep), st
        mark("to host")
        return result

    def gather(shares: list[np.ndarray]) -> np.ndarray:
        """The shares' arrays interleaved back into run order, padding dropped."""
        return np.stack(shares, axis=1).reshape(-1, *shares[0].shape[1:])[:n_runs]

    done = on_devices(sample, parts, devices)
    out = {n: gather([r[0][n] for r in done]) for n in done[0][0]}
    out.update({n: gather([r[3][i] for r in done]) for i, n in enumerate(STAT_FIELDS)})
    out["ll"] = gather([r[1] for r in done])
    out["yrep"] = gather([r[2] for r in done])
    if host_yrep:
        out["yrep"] = host_beta(keys[:n_runs], out["yrep"])
    out["tree_depth"] = np.floor(np.log2(np.maximum(out["num_steps"], 1))).astype(np.int64) + 1
    out["reached_max_tree_depth"] = (out["tree_depth"] >= max_tree_depth).astype(np.int8)
    return out
