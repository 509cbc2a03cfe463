"""NUTS for the capability index: chains compiled once, run in parallel threads on CPU.

numpyro's functional ``hmc(potential_fn_gen=..., algo="NUTS")`` kernel runs warm-up (step size
and diagonal mass adaptation, Stan's windows) and sampling inside one compiled program per share of
chains; the data are an argument of that program, so refits of the same structure (held-out rows
are masked, not removed) compile nothing. Where the chains go (``chain_method``):

* ``"parallel"`` (default on CPU): the chains are dealt into one share per CPU core (at most one
  chain each); each share is a thread executing the same compiled program (``jax.lax.map`` over
  its chains), so the cores sample at once and the program is compiled once, not once per device;
* ``"sequential"``: one share, its chains one after another;
* ``"vectorized"`` (default on accelerators): one share, its chains in lock-step (``jax.vmap``).

Each chain starts at the given values (unconstrained) plus ``N(0, 0.3^2)`` noise of its own, so
chains start apart and R-hat can see a chain that did not forget its start.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache, partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scaling.errors import ScalingError
from scaling.models.irt import IndexSpec, capability_model

__all__ = ["CHAIN_METHODS", "sample_index"]

CHAIN_METHODS = ("parallel", "sequential", "vectorized")
#: Spread of each chain's start around the given values, on the unconstrained scale.
INIT_JITTER = 0.3
_LOCK = threading.Lock()  # numpyro's effect handlers live on one global stack: trace one at a time
_COMPILED: dict[Any, Any] = {}


@lru_cache(maxsize=16)
def _program(spec: IndexSpec, num_warmup: int, num_samples: int, target_accept: float, max_tree_depth: int,
             dense_mass: bool, vectorized: bool) -> Any:  # fmt: skip
    """The jitted ``run(keys, z0, data)`` of one share of chains."""
    from numpyro.infer.hmc import hmc
    from numpyro.infer.util import constrain_fn, potential_energy

    model = partial(capability_model, spec)
    init_kernel, sample_kernel = hmc(
        potential_fn_gen=lambda data: partial(potential_energy, model, (data,), {}), algo="NUTS"
    )

    def one(key: jax.Array, z0: dict[str, jax.Array], data: dict[str, jax.Array]) -> tuple[Any, Any]:
        k_start, k_run = jax.random.split(key)
        leaves, tree = jax.tree.flatten(z0)
        noise = jax.random.split(k_start, len(leaves))
        start = tree.unflatten([x + INIT_JITTER * jax.random.normal(k, x.shape) for x, k in zip(leaves, noise)])
        state = init_kernel(start, num_warmup, model_args=(data,), rng_key=k_run, target_accept_prob=target_accept,
                            max_tree_depth=max_tree_depth, dense_mass=dense_mass)  # fmt: skip

        def step(s: Any, _: Any) -> tuple[Any, Any]:
            s = sample_kernel(s, model_args=(data,))
            return s, (s.z, (s.diverging, s.energy, s.num_steps))

        state, _ = jax.lax.scan(lambda s, x: (step(s, x)[0], None), state, None, length=num_warmup)
        state, (z, stats) = jax.lax.scan(step, state, None, length=num_samples)
        draws = jax.vmap(lambda zz: constrain_fn(model, (data,), {}, zz, return_deterministic=True))(z)
        return draws, (*stats, jnp.broadcast_to(state.adapt_state.step_size, (num_samples,)))

    if vectorized:
        return jax.jit(jax.vmap(one, in_axes=(0, None, None)))
    return jax.jit(lambda keys, z0, data: jax.lax.map(lambda k: one(k, z0, data), keys))


def _compiled(settings: tuple[Any, ...], keys: jax.Array, z0: Any, data: Any) -> Any:
    leaves = jax.tree.leaves((keys, z0, data))
    key = (settings, tuple((a.shape, str(a.dtype)) for a in leaves))
    with _LOCK:
        if key not in _COMPILED:
            _COMPILED[key] = _program(*settings).lower(keys, z0, data).compile()
        return _COMPILED[key]


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
    dense_mass: bool = False,
    chain_method: str | None = None,
    seed: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], str]:
    """Sample the index's posterior: (draws by site, sampler statistics, chain method used).

    ``init`` holds starting values of the sample sites (constrained, e.g.
    :func:`scaling.models.irt.init_values`). Draws have leading ``(chain, draw)`` axes and include the
    deterministic sites; statistics are ``diverging, energy, n_steps, step_size`` ``(chain, draw)``.
    """
    from numpyro.infer.util import unconstrain_fn

    method = chain_method or ("parallel" if jax.default_backend() == "cpu" else "vectorized")
    if method not in CHAIN_METHODS:
        raise ScalingError(f"The 'chain_method' parameter must be one of {CHAIN_METHODS}. Got {method!r} instead.")
    with _LOCK:
        z0 = unconstrain_fn(partial(capability_model, spec), (data,), {}, init)
    keys = jax.random.split(jax.random.key(seed), num_chains)
    shares = min(num_chains, os.cpu_count() or 1) if method == "parallel" else 1
    settings = (spec, num_warmup, num_samples, float(target_accept), int(max_tree_depth), bool(dense_mass),
                method == "vectorized")  # fmt: skip
    parts = [keys[i::shares] for i in range(shares)]
    run = _compiled(settings, parts[0], z0, data)
    if shares == 1:
        outs = [run(parts[0], z0, data)]
    else:
        if any(len(p) != len(parts[0]) for p in parts):  # unequal shares: one more program for the short ones
            short = _compiled(settings, parts[-1], z0, data)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(shares) as pool:
            futures = [pool.submit(run if len(p) == len(parts[0]) else short, p, z0, data) for p in parts]
            outs = [jax.block_until_ready(f.result()) for f in futures]
    order = np.argsort(np.concatenate([np.arange(num_chains)[i::shares] for i in range(shares)]))
    draws = {k: np.concatenate([np.asarray(o[0][k]) for o in outs])[order] for k in outs[0][0]}
    names = ("diverging", "energy", "n_steps", "step_size")
    stats = {n: np.concatenate([np.asarray(o[1][i]) for o in outs])[order] for i, n in enumerate(names)}
    return draws, stats, method
