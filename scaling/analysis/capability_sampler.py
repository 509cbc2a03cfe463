"""NUTS for the capability index: chains compiled once, run in parallel threads on CPU, with a
dense mass matrix estimated from all chains' warm-up.

numpyro's functional ``hmc(potential_fn_gen=..., algo="NUTS")`` kernel runs inside compiled
programs whose data are an argument, so refits of the same structure (held-out rows are masked,
not removed) compile nothing. Two stages (``dense_mass=True``, the default of
:func:`scaling.analysis.fit_index`):

1. every chain warms up with a diagonal mass matrix (Stan's windows, ``warmup_1`` steps) and keeps
   its last half of draws;
2. those draws, pooled over the chains (each chain's mean removed), give one covariance, shrunk
   towards its diagonal (Schafer & Strimmer 2005, target D: the correlations shrink by the
   analytic ``lambda = sum var(r_ij) / sum r_ij^2``); every chain then continues from where it
   stopped with that dense inverse mass matrix (fixed), re-tunes its step size (``warmup_2`` steps)
   and samples.

The index's posterior has strongly correlated directions no diagonal matrix can follow: reasoning-
effort variants of one model share a level the data fix loosely while their differences are fixed
tightly, and the spacing between the early and the frontier models trades against the theta
scale. numpyro's own dense adaptation estimates the matrix from one chain's window (fewer draws
than the ~370 dimensions) and stalled at the maximum tree depth on the hub; pooling the chains
gives several hundred draws. ``dense_mass=False`` runs stage 1 only (diagonal, ``warmup_1 +
warmup_2`` steps).

Where the chains go (``chain_method``): ``"parallel"`` (default on CPU) deals them into one share
per CPU core, each share a thread executing the same compiled program (``jax.lax.map`` over its
chains), so the cores sample at once and each program is compiled once; ``"sequential"``: one
share; ``"vectorized"`` (default on accelerators): one share, chains in lock-step (``jax.vmap``).
Each chain starts at the given values (unconstrained) plus ``N(0, 0.3^2)`` noise of its own.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from scaling.errors import ScalingError
from scaling.models.irt import IndexSpec, capability_model

__all__ = ["CHAIN_METHODS", "sample_index", "shrunk_covariance"]

CHAIN_METHODS = ("parallel", "sequential", "vectorized")
#: Spread of each chain's start around the given values, on the unconstrained scale.
INIT_JITTER = 0.3
_LOCK = threading.Lock()  # numpyro's effect handlers live on one global stack: trace one at a time
_COMPILED: dict[Any, Any] = {}


def _kernel(spec: IndexSpec) -> tuple[Any, Any, Any]:
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import potential_energy

    model = partial(capability_model, spec)
    init_kernel, sample_kernel = hmc(
        potential_fn_gen=lambda data: partial(potential_energy, model, (data,), {}), algo="NUTS"
    )
    return model, init_kernel, sample_kernel


def _batch(one: Any, vectorized: bool, n_shared: int) -> Any:
    """``one(key, *per_chain, *shared)`` over a share of chains (the first args have a chain axis)."""

    def run(keys: jax.Array, *args: Any) -> Any:
        per, shared = args[: len(args) - n_shared], args[len(args) - n_shared :]
        if vectorized:
            return jax.vmap(lambda k, *p: one(k, *p, *shared))(keys, *per)
        return jax.lax.map(lambda kp: one(kp[0], *kp[1], *shared), (keys, per))

    return jax.jit(run)


@lru_cache(maxsize=16)
def _stage1(spec: IndexSpec, warmup: int, keep: int, target_accept: float, max_tree_depth: int, vectorized: bool):
    """``run(keys, z0, data) -> (z, step_size, flat draws of the last keep steps)``: diagonal warm-up."""
    _, init_kernel, sample_kernel = _kernel(spec)

    def one(key: jax.Array, z0: dict[str, jax.Array], data: dict[str, jax.Array]) -> tuple[Any, ...]:
        k_start, k_run = jax.random.split(key)
        leaves, tree = jax.tree.flatten(z0)
        noise = jax.random.split(k_start, len(leaves))
        start = tree.unflatten(
            [x + INIT_JITTER * jax.random.normal(k, x.shape) for x, k in zip(leaves, noise, strict=True)]
        )
        state = init_kernel(start, warmup, model_args=(data,), rng_key=k_run, target_accept_prob=target_accept,
                            max_tree_depth=max_tree_depth)  # fmt: skip

        def step(s: Any, _: Any) -> tuple[Any, Any]:  # one scan: one copy of the NUTS step to compile
            s = sample_kernel(s, model_args=(data,))
            return s, ravel_pytree(s.z)[0]

        state, flat = jax.lax.scan(step, state, None, length=warmup)
        return state.z, state.adapt_state.step_size, flat[warmup - keep :]

    return _batch(one, vectorized, 2)


@lru_cache(maxsize=16)
def _stage2(spec: IndexSpec, warmup: int, num_samples: int, target_accept: float, max_tree_depth: int,
            dense: bool, vectorized: bool):  # fmt: skip
    """``run(keys, z, step_size, inverse_mass, data) -> (draws, stats)``: step-size warm-up and sampling."""
    from numpyro.infer.util import constrain_fn

    model, init_kernel, sample_kernel = _kernel(spec)

    def one(key: jax.Array, z: Any, eps: jax.Array, inv_mass: jax.Array, data: dict[str, jax.Array]) -> Any:
        state = init_kernel(z, warmup, step_size=eps, inverse_mass_matrix=inv_mass, adapt_mass_matrix=False,
                            dense_mass=dense, model_args=(data,), rng_key=key, target_accept_prob=target_accept,
                            max_tree_depth=max_tree_depth)  # fmt: skip

        def step(s: Any, _: Any) -> tuple[Any, Any]:  # one scan: one copy of the NUTS step to compile
            s = sample_kernel(s, model_args=(data,))
            return s, (s.z, (s.diverging, s.energy, s.num_steps))

        state, (zs, stats) = jax.lax.scan(step, state, None, length=warmup + num_samples)
        zs, stats = jax.tree.map(lambda a: a[warmup:], (zs, stats))
        draws = jax.vmap(lambda zz: constrain_fn(model, (data,), {}, zz, return_deterministic=True))(zs)
        return draws, (*stats, jnp.broadcast_to(state.adapt_state.step_size, (num_samples,)))

    return _batch(one, vectorized, 2)


def _compiled(jobs: list[tuple[Any, tuple[Any, ...], tuple[Any, ...]]]) -> list[Any]:
    """The programs ``builder(*settings)`` compiled for ``args``' shapes, for each ``(builder,
    settings, args)``; cached. Tracing is serialised (numpyro), XLA's compiles run in parallel threads."""
    keys = [(b.__name__, s, jax.tree.structure(a), tuple((x.shape, str(x.dtype)) for x in jax.tree.leaves(a)))
            for b, s, a in jobs]  # fmt: skip
    todo = {}
    with _LOCK:
        for key, (builder, settings, args) in zip(keys, jobs, strict=True):
            if key not in _COMPILED and key not in todo:
                todo[key] = builder(*settings).lower(*args)
    if todo:
        with ThreadPoolExecutor(len(todo)) as pool:
            done = dict(zip(todo, pool.map(lambda low: low.compile(), todo.values()), strict=True))
        with _LOCK:
            _COMPILED.update(done)
    return [_COMPILED[k] for k in keys]


def shrunk_covariance(draws: np.ndarray) -> np.ndarray:
    """Covariance of ``draws (n, d)`` with its correlations shrunk towards zero (Schafer & Strimmer
    2005, target D): ``r_ij -> (1 - lambda) r_ij``, ``lambda = sum_{i != j} Var(r_ij) / sum r_ij^2``."""
    x = np.asarray(draws, np.float64)
    n = len(x)
    x = x - x.mean(0)
    sd = x.std(0) + 1e-12
    w = x / sd
    r = w.T @ w / (n - 1)
    var_r = (n / (n - 1) ** 3) * ((w**2).T @ (w**2) - (n - 1) ** 2 / n * r**2)
    off = ~np.eye(r.shape[0], dtype=bool)
    lam = float(np.clip(var_r[off].sum() / max((r[off] ** 2).sum(), 1e-12), 0.0, 1.0))
    r = np.where(off, (1 - lam) * r, 1.0)
    return r * np.outer(sd, sd)


def sample_index(
    spec: IndexSpec,
    data: dict[str, jax.Array],
    init: dict[str, jax.Array],
    *,
    num_warmup: int,
    num_samples: int,
    num_chains: int,
    target_accept: float = 0.85,
    max_tree_depth: int = 10,
    dense_mass: bool = True,
    chain_method: str | None = None,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """Sample the index's posterior: (draws by site, sampler statistics, chain method used).

    ``init`` holds starting values of the sample sites (constrained, e.g.
    :func:`scaling.models.irt.prepare`). ``num_warmup`` is split: two thirds in stage 1, one third
    in stage 2 (see the module docstring). Draws have leading ``(chain, draw)`` axes and include the
    deterministic sites; statistics are ``diverging, energy, n_steps, step_size`` ``(chain, draw)``.
    """
    from numpyro.infer.util import unconstrain_fn

    method = chain_method or ("parallel" if jax.default_backend() == "cpu" else "vectorized")
    if method not in CHAIN_METHODS:
        raise ScalingError(f"The 'chain_method' parameter must be one of {CHAIN_METHODS}. Got {method!r} instead.")
    if num_warmup < 6:
        raise ScalingError(f"The 'num_warmup' parameter must be at least 6. Got {num_warmup!r} instead.")
    with _LOCK:
        z0 = unconstrain_fn(partial(capability_model, spec), (data,), {}, init)
    keys = jax.random.split(jax.random.key(seed), 2 * num_chains)
    shares = min(num_chains, os.cpu_count() or 1) if method == "parallel" else 1
    chains = [np.arange(num_chains)[i::shares] for i in range(shares)]
    vec = method == "vectorized"
    w1 = num_warmup - num_warmup // 3
    keep = max(w1 // 2, 2)
    s1 = (spec, w1, keep, float(target_accept), int(max_tree_depth), vec)
    s2 = (spec, num_warmup // 3, num_samples, float(target_accept), int(max_tree_depth), bool(dense_mass), vec)
    d = int(ravel_pytree(z0)[0].shape[0])
    mass_shape = jax.ShapeDtypeStruct((d, d) if dense_mass else (d,), jnp.float32)
    pos = np.cumsum([0, *map(len, chains)])

    def stage2_args(i: int, z: Any, eps: Any, inv_mass: Any) -> tuple[Any, ...]:
        return (keys[num_chains + chains[i]], z, eps, inv_mass, data)

    def like(c: np.ndarray) -> tuple[Any, ...]:  # stage 2's arguments' shapes, before stage 1 has run
        z = jax.tree.map(lambda a: jax.ShapeDtypeStruct((len(c), *a.shape), a.dtype), z0)
        return (keys[num_chains + c], z, jax.ShapeDtypeStruct((len(c),), jnp.float32), mass_shape, data)

    programs = _compiled([(_stage1, s1, (keys[c], z0, data)) for c in chains]
                         + [(_stage2, s2, like(c)) for c in chains])  # fmt: skip
    out1 = _parallel(programs[:shares], [(keys[c], z0, data) for c in chains])
    z = jax.tree.map(lambda *a: np.concatenate(a), *[o[0] for o in out1])
    eps = np.concatenate([np.asarray(o[1]) for o in out1]).astype(np.float32)
    flat = np.concatenate([np.asarray(o[2]) for o in out1])  # (chain, keep, d), chains in share order
    flat = flat - flat.mean(axis=1, keepdims=True)
    cov = shrunk_covariance(flat.reshape(-1, flat.shape[-1]))
    inv_mass = jnp.asarray(cov if dense_mass else np.diag(cov), jnp.float32)
    parts = [stage2_args(i, jax.tree.map(lambda a, i=i: a[pos[i] : pos[i + 1]], z), eps[pos[i] : pos[i + 1]], inv_mass)
             for i in range(shares)]  # fmt: skip
    out2 = _parallel(programs[shares:], parts)
    order = np.argsort(np.concatenate(chains))
    draws = {k: np.concatenate([np.asarray(o[0][k]) for o in out2])[order] for k in out2[0][0]}
    names = ("diverging", "energy", "n_steps", "step_size")
    stats = {n: np.concatenate([np.asarray(o[1][i]) for o in out2])[order] for i, n in enumerate(names)}
    return draws, stats, method


def _parallel(programs: list[Any], args: list[tuple[Any, ...]]) -> list[Any]:
    """Each compiled program on its arguments, one thread each (a single one runs inline)."""
    if len(programs) == 1:
        return [jax.block_until_ready(programs[0](*args[0]))]
    with ThreadPoolExecutor(len(programs)) as pool:
        futures = [pool.submit(p, *a) for p, a in zip(programs, args, strict=True)]
        return [jax.block_until_ready(f.result()) for f in futures]
