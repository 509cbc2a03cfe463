"""The compiled pieces of the point fits (:func:`scaling.fit_point`): the Huber objective, the
slot-scheduled L-BFGS solver (optax), the start screening and the unconstrained transforms.

Objective (Hoffmann et al. 2022; Besiroglu et al. 2024), summed over points:
``loss(theta) = sum_i w_i huber_delta(r_i)``, ``r_i = log(y_i / y_scale) - fn(u_i, theta)`` for
positive laws (``y_i - fn`` for scores), ``huber_delta(r) = r^2 / 2`` if ``|r| <= delta`` else
``delta (|r| - delta / 2)``; ``w_i`` are bootstrap counts."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from scaling.models.law import Law


def huber(r: jax.Array, delta: float) -> jax.Array:
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))


def _transforms(law: Law) -> list[Any]:
    from numpyro.distributions import biject_to

    return [biject_to(p.prior.to_numpyro().support) for p in law.params]


def _theta(law: Law, transforms: list[Any], z: jax.Array) -> dict[str, jax.Array]:
    """Unconstrained ``z`` (last axis: the law's parameters) -> ``{param: value}`` in their supports."""
    return {n: t(z[..., i]) for i, (n, t) in enumerate(zip(law.param_names, transforms, strict=True))}


@lru_cache(maxsize=32)
def _solver(law: Law, delta: float, tol: float, slots: int):
    """Program ``(z0 (N, k), w (N, n), n_real, u, target, max_iter) -> (z, loss, n_iter, grad_norm)``.

    ``slots`` problems are iterated in lock-step (one vmapped L-BFGS step each
    time round a ``lax.while_loop``); a slot whose problem has converged (gradient
    norm below ``tol``, non-finite, or ``max_iter`` steps) writes its result out and
    takes the next unstarted problem. Finished problems therefore never wait for
    the slowest one, and one compiled program serves any number of problems up
    to ``N`` (only the first ``n_real`` rows are solved; the rest is padding).
    """
    return jax.jit(_build_solver(law, delta, tol, slots))


def _build_solver(law: Law, delta: float, tol: float, slots: int):
    import optax

    transforms = _transforms(law)
    opt = optax.lbfgs()

    def objective(z, w, u, target):
        theta = _theta(law, transforms, z)
        return jnp.sum(w * huber(target - law.fn(u, theta), delta))

    def step(z, state, w, u, target):
        fun = lambda z: objective(z, w, u, target)  # noqa: E731
        value, grad = optax.value_and_grad_from_state(fun)(z, state=state)
        updates, state = opt.update(grad, state, z, value=value, grad=grad, value_fn=fun)
        return optax.apply_updates(z, updates), state

    def pick(mask, new, old):
        return jax.tree.map(lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b), new, old)

    def run(z0, w, n_real, u, target, max_iter):
        n_prob = z0.shape[0]
        b = min(slots, n_prob)
        idx = jnp.arange(b)
        active = idx < n_real
        carry = (z0[:b], jax.vmap(opt.init)(z0[:b]), idx, active, jnp.asarray(b), z0, jnp.zeros(n_prob, jnp.int32))

        def body(carry):
            z, state, idx, active, nxt, out_z, out_k = carry
            z1, state1 = jax.vmap(step, in_axes=(0, 0, 0, None, None))(z, state, w[idx], u, target)
            z, state = pick(active, z1, z), pick(active, state1, state)
            k = optax.tree.get(state, "count")
            g = jnp.linalg.norm(optax.tree.get(state, "grad"), axis=-1)
            done = active & ((k >= max_iter) | (g < tol) | ~jnp.isfinite(g))
            sink = jnp.where(done, idx, n_prob)  # out of bounds: dropped
            out_z = out_z.at[sink].set(z, mode="drop")
            out_k = out_k.at[sink].set(k, mode="drop")
            new = nxt + jnp.cumsum(done) - 1
            take = done & (new < n_real)
            idx = jnp.where(take, new, idx)
            z = jnp.where(take[:, None], z0[idx], z)
            state = pick(take, jax.vmap(opt.init)(z), state)
            return z, state, idx, jnp.where(done, take, active), nxt + jnp.sum(done), out_z, out_k

        carry = jax.lax.while_loop(lambda c: jnp.any(c[3]), body, carry)
        out_z, out_k = carry[5], carry[6]
        loss, grad = jax.vmap(jax.value_and_grad(objective), in_axes=(0, 0, None, None))(out_z, w, u, target)
        return out_z, loss, out_k, jnp.linalg.norm(grad, axis=-1)

    return run


@lru_cache(maxsize=32)
def _evaluator(law: Law, delta: float):
    """Program ``(z (N, k), u, target) -> loss (N,)``: the objective at many starts in one call."""

    def build():
        transforms = _transforms(law)

        def objective(z, u, target):
            theta = _theta(law, transforms, z)
            return jnp.sum(huber(target - law.fn(u, theta), delta))

        return jax.vmap(objective, in_axes=(0, None, None))

    return jax.jit(build())


#: Problems per compiled call; larger batches are split on the host.
CHUNK = 4096


#: Problems iterated in lock-step on a CPU device (``slots``' default there; :data:`CHUNK` on accelerators).
CPU_SLOTS = 32


#: ``device="auto"`` solves a batch on the CPU, even with an accelerator present, when its problems
#: times data points (the work of one L-BFGS iteration) are at most this; below 512 problems a batch
#: runs in one CPU thread. A 30-point law's 32 polished starts (960) stay on the CPU, Hoffmann's grid
#: on the 240 Chinchilla points (32 starts: 7,680) goes to the accelerator; the limit leans to the
#: accelerator, which loses little where it is slower (``bench/w5_device.py`` and
#: ``bench/w1_chinchilla.py``; numbers in ``bench/results/gpu/``).
CPU_PROBLEM_POINTS = 4096


def _chunks(n: int) -> list[slice]:
    return [slice(i, min(i + CHUNK, n)) for i in range(0, n, CHUNK)]


def _pad(a: np.ndarray) -> np.ndarray:
    """Pad the problem axis with zeros to a power of two (>= 64), so sizes share compiled programs."""
    size = max(64, 1 << (len(a) - 1).bit_length())
    return np.concatenate([a, np.zeros((size - len(a), *a.shape[1:]), a.dtype)])


def _distinct_optima(z: np.ndarray, loss: np.ndarray, k: int) -> np.ndarray:
    """Up to ``k`` optima, best first, whose loss is within 10% of the best, skipping
    repeats of one already kept (max |dz| < 1e-4). Far worse local optima (e.g. a
    Chinchilla term switched off) would only waste the bootstrap's work."""
    kept: list[np.ndarray] = []
    order = np.argsort(loss, kind="stable")
    for i in order:
        if not np.isfinite(loss[i]) or loss[i] > loss[order[0]] + 0.1 * abs(loss[order[0]]):
            break
        if all(np.max(np.abs(z[i] - q)) >= 1e-4 for q in kept):
            kept.append(z[i])
        if len(kept) == k:
            break
    return np.stack(kept) if kept else z[[int(np.argmin(loss))]]


def _unconstrain(law: Law, init: Mapping[str, np.ndarray]) -> np.ndarray:
    """Starts ``{param: (N,)}`` -> ``(N, k)`` on the optimiser's unconstrained scale."""
    return np.asarray(_unconstrainer(law)({k: np.asarray(init[k], dtype=np.float64) for k in law.param_names}))


@lru_cache(maxsize=32)
def _unconstrainer(law: Law):
    """Program ``{param: (N,)} -> (N, k)``: each start nudged inside its prior's support, then mapped
    to the unconstrained scale."""

    def build():
        bounds = []
        for p in law.params:
            support = p.prior.to_numpyro().support
            lo = getattr(support, "lower_bound", None)
            hi = getattr(support, "upper_bound", None)
            span = 1e-6 * (1.0 if lo is None or hi is None else float(hi) - float(lo))
            bounds.append((None if lo is None else float(lo) + span, None if hi is None else float(hi) - span))
        transforms = _transforms(law)

        def unconstrain(init):
            cols = []
            for p, t, (lo, hi) in zip(law.params, transforms, bounds, strict=True):
                v = init[p.name]
                if lo is not None:
                    v = jnp.maximum(v, lo)  # nudge starts on a boundary inside the support
                if hi is not None:
                    v = jnp.minimum(v, hi)
                cols.append(t.inv(v))
            return jnp.stack(cols, axis=-1)

        return unconstrain

    return jax.jit(build())
