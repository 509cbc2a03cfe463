"""The compiled NUTS engine behind :func:`scaling.fit` and :func:`scaling.fit_many`.

numpyro's functional ``hmc(potential_fn_gen=..., algo="NUTS")`` kernel is jitted
**once** per (law, likelihood, sampler settings) and mapped over a flat batch of
``problem x chain`` runs. How the batch is mapped is chosen per device:

* ``"vmap"`` (default on GPU/TPU): all runs advance in lock-step in one program;
* ``"map"`` (default on CPU): ``jax.lax.map`` runs them one after another in one
  compiled program, so no run waits for the longest NUTS tree of another.

Sampling proceeds in equal chunks of steps (one compiled chunk function), so a
progress bar can advance between chunks without recompiling.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpyro import handlers
from numpyro.infer import init_to_uniform
from numpyro.infer.hmc import hmc
from numpyro.infer.util import constrain_fn, initialize_model, potential_energy

from .laws import Law
from .likelihoods import Likelihood
from .model import build_model

#: Number of times each engine function was traced (a trace precedes every compile).
TRACES: Counter[str] = Counter()

STAT_FIELDS = ("diverging", "energy", "num_steps", "accept_prob", "step_size", "potential_energy")


def default_batch_mode() -> str:
    """``"map"`` on CPU (sequential, no lock-step waste), ``"vmap"`` on accelerators."""
    return "map" if jax.default_backend() == "cpu" else "vmap"


def _batched(f, mode: str):
    if mode == "vmap":
        return jax.vmap(f)
    if mode == "map":
        return lambda *args: jax.lax.map(lambda a: f(*a), args)
    raise ValueError(f"The 'batch_mode' parameter must be 'vmap', 'map' or 'auto'. Got {mode!r} instead.")


def chunk_size(total: int, target_chunks: int = 20) -> int:
    """Largest divisor of ``total`` not above ``total / target_chunks`` (>= total/100), else total."""
    lo, hi = max(1, total // 100), max(1, total // target_chunks)
    divisors = [d for d in range(hi, lo - 1, -1) if total % d == 0]
    return divisors[0] if divisors else total


@lru_cache(maxsize=64)
def kernels(
    law: Law,
    likelihood: Likelihood,
    num_warmup: int,
    chunk: int,
    max_tree_depth: int,
    target_accept: float,
    dense_mass: bool,
    mode: str,
) -> tuple[Any, Any, Any]:
    """Jitted ``(init, run_chunk, finish)`` for a flat batch of runs; cached."""
    model = build_model(law, likelihood)

    def potential_gen(**data):
        return lambda z: potential_energy(model, (), data, z)

    init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")

    def init_one(key, data):
        k_init, k_run = jax.random.split(key)
        info = initialize_model(k_init, model, model_kwargs=data, init_strategy=init_to_uniform)[0]
        return init_kernel(
            info.z,
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
        """Constrained draws (with deterministics), pointwise log-lik and replicated y."""
        theta = jax.vmap(lambda zz: constrain_fn(model, (), data, zz, return_deterministic=True))(z)
        keys = jax.random.split(key, jax.tree.leaves(z)[0].shape[0])

        def pointwise(th, k):
            tr = handlers.trace(handlers.seed(handlers.substitute(model, th), k)).get_trace(**data)
            fn = tr["y"]["fn"]
            ll = fn.log_prob(tr["y"]["value"])
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

    return (
        traced("init", _batched(init_one, mode)),
        traced("chunk", _batched(chunk_one, mode)),
        traced("finish", _batched(finish_one, mode)),
    )


def run(
    law: Law,
    likelihood: Likelihood,
    data: dict[str, Any],
    keys: jax.Array,
    *,
    num_warmup: int,
    num_samples: int,
    max_tree_depth: int = 10,
    target_accept: float = 0.8,
    dense_mass: bool = False,
    batch_mode: str = "auto",
    progress: Any = None,
) -> dict[str, np.ndarray]:
    """Sample a flat batch of runs; ``data`` leaves and ``keys`` have a leading batch axis.

    Returns numpy arrays with leading ``(run, draw)`` axes: every posterior site
    (by name), ``"ll"`` and ``"yrep"`` (run, draw, point), and the sampler
    statistics in :data:`STAT_FIELDS` plus ``tree_depth``.
    """
    mode = default_batch_mode() if batch_mode == "auto" else batch_mode
    total = num_warmup + num_samples
    chunk = chunk_size(total)
    init, run_chunk, finish = kernels(
        law, likelihood, num_warmup, chunk, max_tree_depth, float(target_accept), bool(dense_mass), mode
    )
    state = init(keys, data)
    zs, stats = [], []
    for _ in range(total // chunk):
        state, (z, st) = run_chunk(state, data)
        zs.append(z)
        stats.append(st)
        if progress is not None:
            jax.block_until_ready(state)  # dispatch is asynchronous: wait, so the bar shows real progress
            progress(chunk)
    z = jax.tree.map(lambda *a: jnp.concatenate(a, axis=1)[:, num_warmup:], *zs)
    st = [np.concatenate([np.asarray(s[i]) for s in stats], axis=1)[:, num_warmup:] for i in range(len(STAT_FIELDS))]
    post_keys = jax.vmap(lambda k: jax.random.fold_in(k, 1))(keys)
    theta, ll, yrep = finish(z, data, post_keys)
    out = {k: np.asarray(v) for k, v in theta.items()}
    out.update(zip(STAT_FIELDS, st, strict=True))
    out["tree_depth"] = np.floor(np.log2(np.maximum(out["num_steps"], 1))).astype(np.int64) + 1
    out["reached_max_tree_depth"] = (out["tree_depth"] >= max_tree_depth).astype(np.int8)
    out["ll"] = np.asarray(ll)
    out["yrep"] = np.asarray(yrep)
    return out
