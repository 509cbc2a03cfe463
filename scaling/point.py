"""Point fits: Huber loss, optax L-BFGS, multi-start and bootstrap in one compiled call.

The objective is the Epoch/Hoffmann one, **summed** (not averaged) over points::

    loss(theta) = sum_i w_i * huber_delta(r_i),
    r_i = log(y_i / y_scale) - fn(u_i, theta)   (positive laws: residual of log y)
    r_i = y_i - fn(u_i, theta)                  (bounded laws: residual of the score)
    huber_delta(r) = r^2 / 2 if |r| <= delta else delta (|r| - delta / 2)

``w_i`` are bootstrap counts (all 1 for the fit to the data). Each start is
solved by ``optax.lbfgs`` inside ``lax.while_loop`` until the gradient norm is
below ``tol`` or ``max_iter``. With many starts, all are first screened for a few
iterations and the best ``polish_starts`` are run to convergence; parameters with a constrained prior support are
optimised in numpyro's unconstrained space. All ``replicate x start`` problems
run in one jitted program (``lax.map`` with a vmapped ``batch_size``), in float64.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from itertools import product
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import xarray as xr
from numpyro.distributions import biject_to

from .data import prepare
from .inference import resolve_model
from .laws import Law
from .likelihoods import get_likelihood
from .provenance import root_attrs


def huber(r: jax.Array, delta: float) -> jax.Array:
    """Huber loss: ``r^2/2`` for ``|r| <= delta``, ``delta (|r| - delta/2)`` beyond."""
    a = jnp.abs(r)
    return jnp.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta))


def _transforms(law: Law) -> list[Any]:
    return [biject_to(p.prior.to_numpyro().support) for p in law.params]


@lru_cache(maxsize=32)
def _solver(law: Law, delta: float, tol: float, batch_size: int):
    """Jitted ``(z0 (M, k), w (M, n), u, target, max_iter) -> (z, loss, n_iter, grad_norm)``."""
    names = law.param_names
    transforms = _transforms(law)

    def objective(z, w, u, target):
        theta = {n: t(z[i]) for i, (n, t) in enumerate(zip(names, transforms, strict=True))}
        return jnp.sum(w * huber(target - law.fn(u, theta), delta))

    def solve(z0, w, u, target, max_iter):
        fun = lambda z: objective(z, w, u, target)  # noqa: E731
        opt = optax.lbfgs()
        value_and_grad = optax.value_and_grad_from_state(fun)

        def step(carry):
            z, state = carry
            value, grad = value_and_grad(z, state=state)
            updates, state = opt.update(grad, state, z, value=value, grad=grad, value_fn=fun)
            return optax.apply_updates(z, updates), state

        def keep_going(carry):
            _, state = carry
            k = optax.tree.get(state, "count")
            g = optax.tree.norm(optax.tree.get(state, "grad"))
            return (k == 0) | ((k < max_iter) & (g >= tol) & jnp.isfinite(g))

        z, state = jax.lax.while_loop(keep_going, step, (z0, opt.init(z0)))
        grad = jax.grad(fun)(z)
        return z, fun(z), optax.tree.get(state, "count"), jnp.linalg.norm(grad)

    @jax.jit
    def run(z0, w, u, target, max_iter):
        return jax.lax.map(lambda a: solve(a[0], a[1], u, target, max_iter), (z0, w), batch_size=batch_size)

    return run


def _unconstrain(law: Law, init: Mapping[str, np.ndarray]) -> np.ndarray:
    cols = []
    for p, t in zip(law.params, _transforms(law), strict=True):
        v = jnp.asarray(init[p.name], dtype=jnp.float64)
        support = p.prior.to_numpyro().support
        lo = getattr(support, "lower_bound", None)
        hi = getattr(support, "upper_bound", None)
        span = 1e-6 * (1.0 if lo is None or hi is None else float(hi) - float(lo))
        if lo is not None:
            v = jnp.maximum(v, float(lo) + span)  # nudge starts on a boundary inside the support
        if hi is not None:
            v = jnp.minimum(v, float(hi) - span)
        cols.append(t.inv(v))
    return np.stack([np.asarray(c) for c in cols], axis=-1)


def prior_starts(law: Law, n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` starting points drawn from the priors (the first one at the prior medians)."""
    out = {}
    for i, p in enumerate(law.params):
        d = p.prior.to_numpyro()
        draws = np.asarray(d.sample(jax.random.fold_in(jax.random.key(seed), i), (n,)), dtype=np.float64)
        try:
            draws[0] = float(d.icdf(0.5))
        except (NotImplementedError, AttributeError):
            draws[0] = float(np.median(draws))
        out[p.name] = draws
    return out


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
        raise ValueError(f"The 'init_space' parameter of fit_point must be 'internal' or 'physical'. Got {space!r}.")
    missing = [n for n in law.param_names if n not in init]
    if missing:
        raise ValueError(f"init is missing parameter(s) {missing} of law {law.name!r} (space {space!r}).")
    n = {len(init[k]) for k in law.param_names}
    if len(n) != 1:
        raise ValueError(f"All init arrays must have the same length. Got lengths {sorted(n)}.")
    return {k: init[k] for k in law.param_names}


def fit_point(
    data: Any,
    law: str | Law,
    *,
    x: str | Sequence[str],
    y: str,
    delta: float = 1e-3,
    init: Mapping[str, Any] | None = None,
    init_space: str = "internal",
    n_starts: int = 64,
    n_bootstrap: int = 0,
    bootstrap_starts: int = 8,
    polish_starts: int | None = 32,
    screen_iter: int = 15,
    law_options: Mapping[str, Any] | None = None,
    priors: Mapping[str, Any] | None = None,
    dropna: bool = False,
    where: str | None = None,
    units: Mapping[str, str] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-9,
    batch_size: int | None = None,
    seed: int = 0,
) -> xr.DataTree:
    """Multi-start Huber/L-BFGS point fit, optionally with bootstrap, in float64.

    Parameters
    ----------
    data, law, x, y, law_options, dropna, where, units : as in :func:`scaling.fit`.
    delta : Huber threshold on the residual (log units for positive laws).
    init : starts as ``{param: array}``; default ``n_starts`` draws from the priors.
    init_space : ``"internal"`` (the law's parameters) or ``"physical"`` (the papers'
        parameters, e.g. :func:`hoffmann_grid` for chinchilla).
    polish_starts, screen_iter : with more starts than ``polish_starts``, every start
        first runs ``screen_iter`` L-BFGS iterations and only the ``polish_starts``
        lowest-loss ones are run to convergence (``None``: run every start to the end).
    n_bootstrap : number of bootstrap replicates (resampling rows with replacement).
        Each replicate starts from the ``bootstrap_starts`` best optima of the fit to
        the data.
    priors : only their supports and (for default starts) their draws are used.
    max_iter, tol : L-BFGS stops when the gradient norm is below ``tol``.
    batch_size : problems vmapped at a time inside ``lax.map`` (default: 512 on CPU, all on GPU).

    Returns
    -------
    DataTree: ``posterior`` with dim ``sample`` (bootstrap replicates, or one
    sample: the best fit), ``point_estimate`` (best fit to the data), and
    ``fit_stats`` (``loss, n_iter, grad_norm`` per sample). ArviZ calls on it
    need ``sample_dims=["sample"]``.
    """
    if delta <= 0:
        raise ValueError(f"The 'delta' parameter of fit_point must be > 0. Got {delta!r} instead.")
    law_obj = resolve_model(law, None, priors, law_options)[0]
    # Huber loss needs y > 0 (positive laws, on log y) or finite scores; no likelihood's extra rules apply
    lik = get_likelihood("lognormal" if law_obj.log_output else "normal")
    prep = prepare(data, law_obj, lik, x=x, y=y, dropna=dropna, where=where, units=units)
    starts = prior_starts(law_obj, n_starts, seed) if init is None else init
    init_int = _internal_init(
        law_obj, starts, init_space if init is not None else "internal", prep.center, prep.y_scale
    )
    if batch_size is None:
        batch_size = 512 if jax.default_backend() == "cpu" else 1 << 30
    with jax.enable_x64(True):
        solver = _solver(law_obj, float(delta), float(tol), int(batch_size))
        u = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in prep.centred().items()}
        target = jnp.asarray(np.log(prep.y / prep.y_scale) if law_obj.log_output else prep.y)

        def solve(z0: np.ndarray, w: np.ndarray, iters: int) -> tuple[np.ndarray, ...]:
            z, loss, n_iter, gnorm = solver(jnp.asarray(z0), jnp.asarray(w), u, target, iters)
            loss = np.asarray(loss)
            return np.asarray(z), np.where(np.isfinite(loss), loss, np.inf), np.asarray(n_iter), np.asarray(gnorm)

        z0 = _unconstrain(law_obj, init_int)
        n_init = z0.shape[0]
        if polish_starts is not None and n_init > polish_starts:
            zs, ls, _, _ = solve(z0, np.ones((n_init, prep.n)), int(screen_iter))
            z0 = zs[np.argsort(ls)[:polish_starts]]
        z, loss, n_iter, gnorm = solve(z0, np.ones((z0.shape[0], prep.n)), int(max_iter))
        best = int(np.argmin(loss))
        samples = {"z": z[[best]], "loss": loss[[best]], "n_iter": n_iter[[best]], "grad_norm": gnorm[[best]]}
        if n_bootstrap > 0:
            k = min(bootstrap_starts, len(loss))
            top = z[np.argsort(loss)[:k]]
            rng = np.random.default_rng(seed)
            w = rng.multinomial(prep.n, np.full(prep.n, 1.0 / prep.n), size=n_bootstrap).astype(np.float64)
            zb, lb, ib, gb = solve(np.tile(top, (n_bootstrap, 1)), np.repeat(w, k, axis=0), int(max_iter))
            rows = np.arange(n_bootstrap) * k + np.argmin(lb.reshape(n_bootstrap, k), axis=1)
            samples = {"z": zb[rows], "loss": lb[rows], "n_iter": ib[rows], "grad_norm": gb[rows]}
        theta_best = _constrain(law_obj, z[[best]], prep)
        theta = _constrain(law_obj, samples["z"], prep)
    spec = {
        "law": law_obj.spec(),
        "likelihood": {"name": "huber", "priors": {}},
        "columns": prep.columns,
        "point": {
            "delta": float(delta),
            "n_starts": int(n_init),
            "polish_starts": polish_starts,
            "screen_iter": int(screen_iter),
            "n_bootstrap": int(n_bootstrap),
            "bootstrap_starts": int(bootstrap_starts),
            "max_iter": int(max_iter),
            "tol": float(tol),
        },
    }
    return _point_datatree(theta, theta_best, samples, loss[best], prep, spec, seed)


def _constrain(law: Law, z: np.ndarray, prep) -> dict[str, np.ndarray]:
    theta = {n: t(jnp.asarray(z[:, i])) for i, (n, t) in enumerate(zip(law.param_names, _transforms(law), strict=True))}
    center = {k: jnp.asarray(v) for k, v in prep.center.items()}
    phys = law.physical(theta, center, jnp.asarray(prep.y_scale))
    return {k: np.asarray(v, dtype=np.float64) for k, v in {**theta, **phys}.items()}


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
    dt.attrs.update(root_attrs(spec, [prep], seed))
    dt.attrs["kind"] = "point"
    return dt
