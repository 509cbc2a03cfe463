"""Point fits: Huber loss, optax L-BFGS, multi-start and bootstrap in one compiled call.

The objective is the Epoch/Hoffmann one, **summed** (not averaged) over points::

    loss(theta) = sum_i w_i * huber_delta(r_i),
    r_i = log(y_i / y_scale) - fn(u_i, theta)   (positive laws: residual of log y)
    r_i = y_i - fn(u_i, theta)                  (bounded laws: residual of the score)
    huber_delta(r) = r^2 / 2 if |r| <= delta else delta (|r| - delta / 2)

``w_i`` are bootstrap counts (all 1 for the fit to the data). Each start is
solved by ``optax.lbfgs`` until the gradient norm is below ``tol`` or
``max_iter``. With many starts, the objective is first evaluated at all of them in
one vectorised call and only the best ``polish_starts`` are optimised; parameters
with a constrained prior support are optimised in numpyro's unconstrained space.
All ``replicate x start`` problems run in one jitted program, in float64:
``slots`` problems step in lock-step and a slot whose problem converges takes the
next one, so finished problems never wait for the slowest. Each program is jitted once per law and
settings (and compiled once per padded shape).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import product
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from scaling.checks import check_int, check_memory, check_seed
from scaling.data.preparation import prepare
from scaling.deprecation import renamed
from scaling.errors import ScalingError
from scaling.infer.devices import check_device, local_devices, on_devices, platform
from scaling.infer.lbfgs import (
    CHUNK,
    CPU_PROBLEM_POINTS,
    CPU_SLOTS,
    _chunks,
    _distinct_optima,
    _evaluator,
    _pad,
    _solver,
    _theta,
    _transforms,
    _unconstrain,
)
from scaling.models.law import Law
from scaling.models.likelihoods import get_likelihood
from scaling.models.model import Model, resolve
from scaling.provenance import root_attrs


def prior_starts(law: Law, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` starting points drawn from the priors (the first one at the prior medians)."""
    return {k: np.asarray(v, dtype=np.float64) for k, v in _prior_sampler(law, int(n))(seed).items()}


@lru_cache(maxsize=32)
def _prior_sampler(law: Law, n: int):
    """Program ``seed -> {param: n draws}``: every prior sampled in one program (not one per operation)."""

    def build():
        def draw(seed):
            out = {}
            for i, p in enumerate(law.params):
                d = p.prior.to_numpyro()
                v = d.sample(jax.random.fold_in(jax.random.key(seed), i), (n,))
                try:
                    median = d.icdf(0.5)
                except (NotImplementedError, AttributeError):
                    median = jnp.median(v)
                out[p.name] = v.at[0].set(median)
            return out

        return draw

    return jax.jit(build())


def grid(**axes: Sequence[float]) -> dict[str, np.ndarray]:
    """Cartesian grid of starts: ``grid(alpha=[0, .5], beta=[0, .5])`` -> 4 starts."""
    names = list(axes)
    rows = np.array(list(product(*[list(axes[n]) for n in names])), dtype=np.float64)
    return {n: rows[:, i] for i, n in enumerate(names)}


def hoffmann_grid() -> dict[str, np.ndarray]:
    """Hoffmann et al.'s 4,500-start grid in the papers' parameters (used by Epoch).

    ``alpha, beta in {0, 0.5, ..., 2}``, ``e in {-1, -0.5, ..., 1}``,
    ``a, b in {0, 5, ..., 25}``; ``E = exp(e)``. Pass with ``init_space="physical"``.
    """
    g = grid(
        alpha=np.arange(0, 2.01, 0.5),
        beta=np.arange(0, 2.01, 0.5),
        e=np.arange(-1, 1.01, 0.5),
        a=np.arange(0, 26, 5),
        b=np.arange(0, 26, 5),
    )
    g["E"] = np.exp(g.pop("e"))
    return g


def _internal_init(law: Law, init: Mapping[str, Any], space: str, center, y_scale) -> dict[str, np.ndarray]:
    init = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in init.items()}
    if space == "physical":
        with jax.enable_x64(True):
            mapped = law.from_physical({k: jnp.asarray(v) for k, v in init.items()}, center, y_scale)
        init = {**init, **{k: np.asarray(v) for k, v in mapped.items()}}
    elif space != "internal":
        raise ScalingError(f"The 'init_space' parameter of fit_point must be 'internal' or 'physical'. Got {space!r}.")
    missing = [n for n in law.param_names if n not in init]
    if missing:
        raise ScalingError(f"init is missing parameter(s) {missing} of law {law.name!r} (space {space!r}).")
    n = {len(init[k]) for k in law.param_names}
    if len(n) != 1:
        raise ScalingError(f"All init arrays must have the same length. Got lengths {sorted(n)}.")
    return {k: init[k] for k in law.param_names}


@renamed(n_starts="num_starts", n_bootstrap="num_bootstrap")
def fit_point(
    data: Any,
    law: str | Law,
    *,
    x: str | Sequence[str],
    y: str,
    delta: float = 1e-3,
    init: Mapping[str, Any] | None = None,
    init_space: str = "internal",
    num_starts: int = 64,
    num_bootstrap: int = 0,
    bootstrap_starts: int = 8,
    polish_starts: int | None = 32,
    law_options: Mapping[str, Any] | None = None,
    priors: Mapping[str, Any] | None = None,
    dropna: bool = False,
    where: str | None = None,
    units: Mapping[str, str] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
    slots: int | None = None,
    device: str = "auto",
    seed: int = 0,
) -> xr.DataTree:
    """Multi-start Huber/L-BFGS point fit, optionally with bootstrap, in float64.

    Parameters
    ----------
    data, law, x, y, law_options, dropna, where, units : as in :func:`scaling.fit`.
    delta : Huber threshold on the residual (log units for positive laws).
    init : starts as ``{param: array}``; default ``num_starts`` draws from the priors (``n_starts`` is
        the deprecated name of ``num_starts``).
    init_space : ``"internal"`` (the law's parameters) or ``"physical"`` (the papers'
        parameters, e.g. :func:`hoffmann_grid` for chinchilla).
    polish_starts : with more starts than this, the objective is evaluated at every
        start in one vectorised call and only the ``polish_starts`` lowest-loss starts
        are optimised (``None``: optimise from every start).
    num_bootstrap : number of bootstrap replicates (resampling rows with replacement); ``n_bootstrap`` is
        its deprecated name.
        Each replicate is warm-started from the distinct optima of the fit to the data
        whose loss is within 10% of the best (at most ``bootstrap_starts``, best first).
    priors : only their supports and (for default starts) their draws are used.
    max_iter, tol : L-BFGS stops when the gradient norm is below ``tol``.
    slots : problems iterated in lock-step; a converged problem's slot takes the next
        one (default: :data:`CPU_SLOTS` on CPU, 4096 on accelerators).
    device : ``"auto"`` (default): a batch of problems whose problems x data points are at most
        :data:`CPU_PROBLEM_POINTS` (a small fit without bootstrap) is solved on the CPU, larger
        ones on the accelerator when there is one; ``"cpu"`` or ``"accelerator"`` to choose.
    seed : an int or a JAX key (read as an int: :func:`scaling.checks.check_seed`).

    Returns
    -------
    DataTree: ``posterior`` with dim ``sample`` (bootstrap replicates, or one
    sample: the best fit), ``point_estimate`` (best fit to the data), and
    ``fit_stats`` (``loss, n_iter, grad_norm`` per sample). ArviZ calls on it
    need ``sample_dims=["sample"]``.
    """
    if delta <= 0:
        raise ScalingError(f"The 'delta' parameter of fit_point must be > 0. Got {delta!r} instead.")
    check_device(device, "fit_point")
    if slots is not None:
        check_int("slots", slots, 1, "fit_point")
    law_obj = resolve(law, priors=priors, law_options=law_options).law
    # the scatter model of the residuals: lognormal (log y) for positive laws, normal for scores. Huber's
    # loss needs y > 0 (positive laws, on log y) or finite scores; no likelihood's extra rules apply
    model = Model(law_obj, get_likelihood("lognormal" if law_obj.log_output else "normal"))
    seed = check_seed(seed, "fit_point")
    check_int("num_bootstrap", num_bootstrap, 0, "fit_point")
    check_int("num_starts", num_starts, 1, "fit_point")
    prep = prepare(data, model, x=x, y=y, dropna=dropna, where=where, units=units)
    n_params = len(law_obj.params)  # bootstrap: (replicates x starts) problems of n points, held as float64
    per = 8 * 6 * max(num_starts, 1) * (prep.n + n_params)
    check_memory(
        per * max(num_bootstrap, 1), "fit_point", f"num_bootstrap={num_bootstrap:,}", per_unit=per, name="num_bootstrap"
    )
    n_first = num_starts if init is None else max((np.size(v) for v in init.values()), default=1)
    polished = n_first if polish_starts is None else min(n_first, polish_starts)
    # the draws, screening and transforms run where the fit to the data is solved (bootstrap replicates
    # may go elsewhere: solve decides per batch)
    home = jax.default_device(local_devices(platform(polished * prep.n, device, cpu_limit=CPU_PROBLEM_POINTS))[0])
    with home:
        starts = prior_starts(law_obj, num_starts, seed) if init is None else init
        init_int = _internal_init(
            law_obj, starts, init_space if init is not None else "internal", prep.center, prep.y_scale
        )
    with jax.enable_x64(True), home:
        # NumPy: each program call moves them to its device (no eager JAX conversions to compile)
        u = {k: np.asarray(v, dtype=np.float64) for k, v in prep.centred().items()}
        target = np.asarray(np.log(prep.y / prep.y_scale) if law_obj.log_output else prep.y, dtype=np.float64)

        def solve(z0: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
            """Every problem (row) solved, on the CPU when problems x points are at most
            ``CPU_PROBLEM_POINTS`` (``device="auto"``), else on the accelerator; large batches are
            split over the platform's devices."""
            where = platform(len(z0) * prep.n, device, cpu_limit=CPU_PROBLEM_POINTS)
            lockstep = slots if slots is not None else (CPU_SLOTS if where == "cpu" else CHUNK)
            solver = _solver(law_obj, float(delta), float(tol), int(lockstep))
            devices = local_devices(where)

            def solve_on(rows: np.ndarray, on: Any) -> list[list[np.ndarray]]:
                out = []
                with jax.enable_x64(True):  # thread-local: worker threads need it too
                    for chunk in _chunks(len(rows)):
                        m = chunk.stop - chunk.start
                        args = jax.device_put((_pad(z0[rows[chunk]]), _pad(w[rows[chunk]]), u, target), on)
                        out.append([np.asarray(a)[:m] for a in solver(*args[:2], m, *args[2:], int(max_iter))])
                return out

            shares = np.array_split(np.arange(len(z0)), min(len(devices), max(1, len(z0) // 256)))
            parts = [c for per_device in on_devices(solve_on, shares, devices) for c in per_device]
            z, loss, n_iter, gnorm = (np.concatenate(p) for p in zip(*parts, strict=True))
            return z, np.where(np.isfinite(loss), loss, np.inf), n_iter, gnorm

        z0 = _unconstrain(law_obj, init_int)
        n_init = z0.shape[0]
        if polish_starts is not None and n_init > polish_starts:
            evaluate = _evaluator(law_obj, float(delta))
            l0 = np.concatenate(
                [np.asarray(evaluate(_pad(z0[c]), u, target))[: c.stop - c.start] for c in _chunks(n_init)]
            )
            z0 = z0[np.argsort(np.where(np.isfinite(l0), l0, np.inf), kind="stable")[:polish_starts]]
        z, loss, n_iter, gnorm = solve(z0, np.ones((z0.shape[0], prep.n)))
        best = int(np.argmin(loss))
        samples = {"z": z[[best]], "loss": loss[[best]], "n_iter": n_iter[[best]], "grad_norm": gnorm[[best]]}
        if num_bootstrap > 0:
            top = _distinct_optima(z, loss, bootstrap_starts)
            k = len(top)
            rng = np.random.default_rng(seed)
            w = rng.multinomial(prep.n, np.full(prep.n, 1.0 / prep.n), size=num_bootstrap).astype(np.float64)
            zb, lb, ib, gb = solve(np.tile(top, (num_bootstrap, 1)), np.repeat(w, k, axis=0))
            rows = np.arange(num_bootstrap) * k + np.argmin(lb.reshape(num_bootstrap, k), axis=1)
            samples = {"z": zb[rows], "loss": lb[rows], "n_iter": ib[rows], "grad_norm": gb[rows]}
        theta_best = _constrain(law_obj, z[[best]], prep)
        theta = _constrain(law_obj, samples["z"], prep)
    spec = {
        **model.spec(),
        "columns": prep.columns,
        "point": {
            "delta": float(delta),
            "n_starts": int(n_init),
            "polish_starts": polish_starts,
            "n_bootstrap": int(num_bootstrap),
            "bootstrap_starts": int(bootstrap_starts),
            "max_iter": int(max_iter),
            "tol": float(tol),
        },
    }
    return _point_datatree(theta, theta_best, samples, loss[best], prep, spec, seed)


def _constrain(law: Law, z: np.ndarray, prep) -> dict[str, np.ndarray]:
    """Unconstrained ``(S, k)`` -> ``{param: (S,)}``, the law's parameters and the papers' (physical) ones."""
    center = {k: np.float64(v) for k, v in prep.center.items()}
    out = _constrainer(law)(z, center, np.float64(prep.y_scale))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


@lru_cache(maxsize=32)
def _constrainer(law: Law):
    """Program ``(z (S, k), center, y_scale) -> {param: (S,)}``."""

    def build():
        transforms = _transforms(law)

        def constrain(z, center, y_scale):
            theta = _theta(law, transforms, z)
            return {**theta, **law.physical(theta, center, y_scale)}

        return constrain

    return jax.jit(build())


def _point_datatree(theta, theta_best, samples, best_loss, prep, spec, seed) -> xr.DataTree:
    sample = np.arange(len(samples["loss"]))
    post = xr.Dataset({k: ("sample", v) for k, v in theta.items()}, coords={"sample": sample})
    post.attrs["sample_dims"] = ["sample"]
    stats = xr.Dataset(
        {k: ("sample", np.asarray(samples[k])) for k in ("loss", "n_iter", "grad_norm")}, coords={"sample": sample}
    )
    best = xr.Dataset({k: v[0] for k, v in theta_best.items()} | {"loss": float(best_loss)})
    obs = xr.Dataset({"y": ("point", prep.y)}, coords={"point": np.arange(prep.n), "row": ("point", prep.rows)})
    const = xr.Dataset(
        {k: ("point", v) for k, v in prep.raw_x.items()}
        | {f"center_{k}": v for k, v in prep.center.items()}
        | {"y_scale": prep.y_scale, "n_points": prep.n},
        coords={"point": np.arange(prep.n)},
    )
    dt = xr.DataTree.from_dict(
        {"posterior": post, "point_estimate": best, "fit_stats": stats, "observed_data": obs, "constant_data": const}
    )
    dt.attrs.update(root_attrs(spec, [prep], seed, single=True))
    dt.attrs["kind"] = "point"
    return dt
