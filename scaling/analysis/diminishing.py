"""Are returns diminishing? Posterior marginal returns and elasticities along compute.

For a fit and a grid of compute ``x`` (default: 50 points spanning the observed
range), every posterior draw gives, by ``jax.grad`` of the law (no finite
differences):

* ``marginal_return = d mu / d log10 x``: change of the predicted quantity per
  decade of compute (per year for date inputs), in the data's units;
* ``elasticity = d ln mu / d ln x``: the local log-log slope (the "local
  exponent"); for date inputs ``growth_rate = d ln mu / dt`` per year instead;
* ``elasticity_reducible = d ln(mu - E) / d ln x`` for laws with an irreducible term E.

Two-input laws are read along a one-dimensional path: for ``chinchilla``, the
compute-optimal frontier ``N*(C), D* = C / (6 N*)`` of Hoffmann et al., along
which the reducible loss falls as ``C^(-alpha beta / (alpha + beta))``.

The verdict compares the **returns quantity** at the high end of the grid with
the low end, draw by draw. It is ``|elasticity|`` (or ``|growth_rate|``) for
positive laws (loss, horizons: a flattening log-log curve is diminishing
returns) and ``|marginal_return|`` for bounded scores. With ``r = q_high / q_low - 1``:

* **constant** when ``P(|r| < rope) >= prob`` (default rope 0.1, prob 0.9): any change is
  practically negligible;
* **diminishing** when ``P(r < -rope) >= prob``: the returns fall by more than ``rope`` across the range;
* **accelerating** when ``P(r > rope) >= prob``;
* **inconclusive** otherwise, and always for laws with constant returns by
  construction (``power_law``, ``exponential_trend``), which cannot test the question.

With ``baseline=`` a fit of a constant-returns law (``power_law``,
``exponential_trend``) to the same data, the two are compared by PSIS-LOO and the
probabilities are those of their stacked mixture: with stacking weight ``w`` on
the flexible law, ``P(constant) = w P_flex(constant) + (1 - w)`` and
``P(diminishing) = w P_flex(diminishing)`` (the baseline's returns are constant).
The rule is then the one above on the stacked probabilities, with one more condition for
**constant**: the flexible law alone must lean that way too, ``P_flex(|r| < rope) >=``
:data:`FLEXIBLE_CONSTANT_MIN` (0.5). When the data are too few or too noisy to tell the laws
apart, stacking can put all its weight on the simpler law, and that alone is not evidence of
constant returns. The text prints the stacked probabilities and the flexible law's own, and says
when this condition decided. Probabilities are printed rounded down to two decimals, so the
printed numbers and the rule give the same category. The diagnostics gate runs first: a failing fit gets
``unreliable: <reason>`` and no numbers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from scaling.analysis.diagnostics import diagnose
from scaling.analysis.prediction import model_from_fit
from scaling.checks import check_finite, check_prob
from scaling.deprecation import renamed, warn_renamed
from scaling.errors import ScalingError
from scaling.models.law import LN10, Law

CONSTANT_BY_CONSTRUCTION = ("power_law", "exponential_trend")

#: With a baseline, "constant" also needs the flexible law's own P(|r| < rope) at least this (module doc).
FLEXIBLE_CONSTANT_MIN = 0.5


@dataclass
class Verdict:
    """The answer to "are returns diminishing?" for one fit, as :func:`returns` gives it.

    ``category``: ``constant``, ``diminishing``, ``accelerating``, ``inconclusive`` or ``unreliable``
    (the diagnostics gate or the comparison with the baseline failed: no numbers); ``text``: the
    verdict in words; the probabilities behind it; ``tree``: the fit with its ``derived`` group
    (marginal returns and elasticities on the grid, :func:`marginal_returns`), or the fit as it was
    when the verdict is unreliable.

    Unpacking it as the ``(tree, verdict)`` pair of 0.2 (``dt, v = returns(fit)``) still works for
    one release, with a DeprecationWarning: use ``v = returns(fit)`` and ``v.tree``.
    """

    category: str
    text: str
    p_diminishing: float | None = None
    p_accelerating: float | None = None
    p_constant: float | None = None
    p_exponent_falls: float | None = None
    x_range: tuple[float, float] | None = None
    comparison: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    tree: xr.DataTree | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return self.text

    def _pair(self) -> tuple[xr.DataTree | None, Verdict]:
        warn_renamed("(tree, verdict) pair", "verdict.tree", "returns", what="result", stacklevel=4)
        return self.tree, self

    def __iter__(self):
        """Deprecated: ``dt, v = returns(fit)``, the pair 0.2 returned."""
        return iter(self._pair())

    def __getitem__(self, i: int) -> Any:
        """Deprecated: ``returns(fit)[1]``, an item of the pair 0.2 returned."""
        return self._pair()[i]

    def to_dict(self) -> dict[str, Any]:
        keys = ("category", "text", "p_diminishing", "p_accelerating", "p_constant", "p_exponent_falls", "x_range")
        out = {k: getattr(self, k) for k in keys} | {"details": self.details}
        return json.loads(json.dumps(out, default=float))


def path_function(law: Law, center: dict[str, float], y_scale: float):
    """``f(theta, t) -> mu``: the law's mean along one coordinate ``t`` (log10 x or year)."""
    if len(law.inputs) == 1:
        name = law.inputs[0].name

        def f(theta, t):
            return law.mean({name: jnp.reshape(t - center[name], (1,))}, theta, y_scale)[0]

        return f
    if law.name == "chinchilla":

        def f(theta, t):
            # compute-optimal allocation: N* = G (C/6)^(beta/(alpha+beta)), G = (alpha A / (beta B))^(1/(alpha+beta))
            al, be, a, b = theta["alpha"], theta["beta"], theta["a"], theta["b"]
            ln_c6 = t * LN10 - math.log(6.0)
            ln_n = (jnp.log(al) + a - jnp.log(be) - b) / (al + be) + be / (al + be) * ln_c6
            ln_d = ln_c6 - ln_n
            return theta["E"] + jnp.exp(a - al * ln_n) + jnp.exp(b - be * ln_d)

        return f
    raise ScalingError(f"returns has no one-dimensional compute path for law {law.name!r}.")


def _observed_coordinate(fit: xr.DataTree, law: Law) -> np.ndarray:
    const = fit["constant_data"]
    if len(law.inputs) == 1:
        inp = law.inputs[0]
        x = const[inp.name].values
        return np.log10(x) if inp.transform == "log10" else x
    return np.log10(6.0 * const["n"].values * const["d"].values)


@renamed(n_grid="num_grid")
def marginal_returns(fit: xr.DataTree, grid: Any = None, num_grid: int = 50) -> xr.DataTree:
    """The fit with a ``derived`` group: marginal return and elasticities on a compute grid.

    Parameters
    ----------
    fit : a single-problem Bayesian or point fit (use :func:`scaling.select_problem` for fit_many).
    grid : compute values in natural units (FLOP; years for date laws); default ``num_grid``
        points spanning the observed range (compute C = 6 N D for chinchilla).

    Returns
    -------
    A copy of ``fit`` with ``derived`` holding ``mu``, ``marginal_return``,
    ``elasticity`` (or ``growth_rate``) and, where the law has E, ``elasticity_reducible``,
    each with dims ``(*sample_dims, grid)``; coordinate ``x`` on ``grid``.
    """
    law = model_from_fit(fit).law
    if "problem" in fit["posterior"].dims:
        raise ScalingError("returns works on one problem; use scaling.select_problem(fit, name) first.")
    const = fit["constant_data"]
    center = {i.name: float(const[f"center_{i.name}"]) for i in law.inputs}
    y_scale = float(const["y_scale"])
    is_year = len(law.inputs) == 1 and law.inputs[0].transform == "year"
    if grid is None:
        t_obs = _observed_coordinate(fit, law)
        t = np.linspace(t_obs.min(), t_obs.max(), num_grid)
    else:
        g = np.atleast_1d(np.asarray(grid, dtype=float))
        t = g if is_year else np.log10(g)
    post = fit["posterior"].to_dataset()
    dims = [d for d in post[law.param_names[0]].dims]
    # NumPy arguments: the program moves them to its device (no eager JAX conversions to compile)
    theta = {k: np.asarray(v.values.reshape(-1)) for k, v in post.data_vars.items() if v.dims == tuple(dims)}
    vals = _returns_program(law)(theta, np.asarray(t), center, y_scale)
    shape = [post.sizes[d] for d in dims] + [len(t)]
    scale = 1.0 if is_year else 1.0 / LN10  # d ln mu / d ln x = (d ln mu / d log10 x) / ln 10
    names = {"log_slope": "growth_rate" if is_year else "elasticity", "log_slope_reducible": "elasticity_reducible"}
    derived = xr.Dataset(
        {
            names.get(k, k): ([*dims, "grid"], np.asarray(v).reshape(shape) * (scale if k.startswith("log") else 1))
            for k, v in vals.items()
        },
        coords={"x": ("grid", t if is_year else 10.0**t)} | {d: post[d].values for d in dims if d in post.coords},
    )
    derived.attrs["path"] = "compute-optimal frontier (C = 6 N D)" if law.name == "chinchilla" else "observed input"
    out = fit.copy()
    out["derived"] = derived
    return out


#: Fewest bootstrap replicates of a point fit that :func:`returns` weighs a verdict from.
MIN_REPLICATES = 20


def returns(
    fit: xr.DataTree,
    grid: Any = None,
    *,
    baseline: xr.DataTree | None = None,
    prob: float = 0.9,
    rope: float = 0.1,
) -> Verdict:
    """Posterior marginal returns and the diminishing-returns verdict (see module doc).

    Returns
    -------
    :class:`Verdict`, with the fit and its ``derived`` group as ``verdict.tree``. The verdict is
    ``unreliable`` when the diagnostics gate fails.
    """
    prob = check_prob(prob, "returns")
    rope = check_finite("rope", rope, "returns", positive=True)
    if fit.attrs.get("kind") == "point" and fit["posterior"].sizes.get("sample", 1) < MIN_REPLICATES:
        n = fit["posterior"].sizes.get("sample", 1)
        raise ScalingError(
            f"returns needs a spread of estimates to weigh a verdict, and this point fit has {n} "
            f"{'estimate (no bootstrap)' if n == 1 else 'bootstrap replicates'}; P(diminishing) from it would "
            f"mean nothing. Refit with num_bootstrap >= {MIN_REPLICATES} (CLI: --method point --num-bootstrap 200), "
            f"or use a Bayesian fit."
        )
    gate = diagnose(fit)
    if not gate.ok:
        return Verdict("unreliable", f"unreliable: {gate.reasons[0]}", details={"reasons": gate.reasons}, tree=fit)
    law = model_from_fit(fit).law
    dt = marginal_returns(fit, grid)
    der = dt["derived"].to_dataset()
    dims = [d for d in der["mu"].dims if d != "grid"]
    flat = der.stack(s=dims).transpose("s", "grid") if dims else der
    is_year = "growth_rate" in der
    e = flat["growth_rate" if is_year else "elasticity"].values
    m = flat["marginal_return"].values
    q = np.abs(m) if law.bounded else np.abs(e)
    q_lo, q_hi = q[:, 0], q[:, -1]
    ratio = q_hi / np.where(q_lo == 0, np.nan, q_lo) - 1.0
    p_dim, p_acc = float(np.mean(q_hi < q_lo)), float(np.mean(q_hi > q_lo))
    p_flat = float(np.mean(np.abs(ratio) < rope))
    p_fall, p_rise = float(np.mean(ratio < -rope)), float(np.mean(ratio > rope))
    p_exp = float(np.mean(np.abs(e[:, -1]) < np.abs(e[:, 0])))
    x = der["x"].values
    x_range = (float(x[0]), float(x[-1]))
    comparison, note, w_flex = None, "", 1.0
    p_flat_flex, p_fall_flex, p_rise_flex = p_flat, p_fall, p_rise
    if baseline is not None:
        from scaling.analysis.comparison import compare

        base_law = model_from_fit(baseline).law
        if base_law.name not in CONSTANT_BY_CONSTRUCTION:
            raise ScalingError(
                f"baseline must be a constant-returns law {CONSTANT_BY_CONSTRUCTION}; got {base_law.name!r}."
            )
        comparison = compare({law.name: fit, f"{base_law.name} (baseline)": baseline})
        if comparison.table is None:
            return Verdict("unreliable", f"unreliable: {comparison.reasons[0]}", comparison=comparison, tree=dt)
        t = comparison.table
        flex, other = t.loc[law.name], t.drop(index=law.name).iloc[0]
        w_flex = float(flex["weight"])
        diff, dse = float(flex["elpd"] - other["elpd"]), float(max(flex["dse"], other["dse"]))
        note = (
            f", stacked with the constant-returns {base_law.name} (PSIS-LOO weight {1 - w_flex:.2f} on it, "
            f"elpd difference {diff:.1f} +/- {dse:.1f})"
        )
        # the baseline's returns are exactly constant: it adds its weight to P(change within rope)
        p_flat = w_flex * p_flat + (1 - w_flex)
        p_fall, p_rise = w_flex * p_fall, w_flex * p_rise
    flexible_says_no = baseline is not None and p_flat >= prob and p_flat_flex < FLEXIBLE_CONSTANT_MIN
    if law.name in CONSTANT_BY_CONSTRUCTION:
        category = "inconclusive"
    elif p_flat >= prob and not flexible_says_no:
        category = "constant"
    elif p_fall >= prob:
        category = "diminishing"
    elif p_rise >= prob:
        category = "accelerating"
    else:
        category = "inconclusive"
    unit = "year" if is_year else "FLOP"
    fmt = (lambda v: f"{v:.1f}") if is_year else (lambda v: f"{v:.3g}")
    quantity = "|marginal return| (per decade)" if law.bounded else ("|growth rate|" if is_year else "|local exponent|")
    what = {
        "constant": "returns are practically constant",
        "diminishing": "returns are diminishing",
        "accelerating": "returns are accelerating",
        "inconclusive": "the data do not settle whether returns are diminishing",
    }[category]
    if law.name in CONSTANT_BY_CONSTRUCTION:
        what += f" ({law.name} has constant returns by construction; fit a law that lets them change)"
    if flexible_says_no and category == "inconclusive":
        what += (
            f" (not constant: the stacked P(change within {rope:.0%}) comes from the baseline's weight, while "
            f"{law.name} alone gives {_down(p_flat_flex)} < {FLEXIBLE_CONSTANT_MIN}, so the data do not show that "
            "returns are constant)"
        )

    def probabilities(fall: float, rise: float, flat: float) -> str:
        return (
            f"P(falls by > {rope:.0%}) = {_down(fall)}, P(rises by > {rope:.0%}) = {_down(rise)}, "
            f"P(change within {rope:.0%}) = {_down(flat)}"
        )

    alone = f"{law.name} alone: {probabilities(p_fall_flex, p_rise_flex, p_flat_flex)}, " if baseline else ""
    text = (
        f"{category}: {what}. Between {fmt(x_range[0])} and {fmt(x_range[1])} {unit}, for {quantity}{note}: "
        f"{probabilities(p_fall, p_rise, p_flat)}; {alone}P(falls at all) = {_down(p_dim)}; "
        f"local exponent {np.median(e[:, 0]):.3g} -> {np.median(e[:, -1]):.3g} (medians). "
        f"Driven by {_driver(law, fit)}."
    )
    details = {
        "p_fall_beyond_rope": p_fall,
        "p_rise_beyond_rope": p_rise,
        "weight_flexible": w_flex,
        "p_constant_flexible": p_flat_flex,
        "p_fall_beyond_rope_flexible": p_fall_flex,
        "p_rise_beyond_rope_flexible": p_rise_flex,
        "quantity": quantity,
        "prob": prob,
        "rope": rope,
        "median_q_low": float(np.median(q_lo)),
        "median_q_high": float(np.median(q_hi)),
        "diagnostics": gate.status,
    }
    verdict = Verdict(category, text, p_dim, p_acc, p_flat, p_exp, x_range, comparison, details)
    dt["derived"].attrs["verdict"] = json.dumps(verdict.to_dict())
    verdict.tree = dt
    return verdict


def _down(p: float) -> str:
    """A probability rounded down to two decimals (``0.8995 -> "0.89"``), so that a printed value is at
    or above a two-decimal threshold (0.9, 0.5) exactly when the probability is."""
    return f"{math.floor(p * 100 + 1e-9) / 100:.2f}"


def _driver(law: Law, fit: xr.DataTree) -> str:
    post = fit["posterior"]

    def med(name: str) -> str:
        return f"{float(post[name].median()):.3g}"

    if law.name == "saturating_power_law":
        return f"the irreducible term E (median {med('E')}) approached as the power-law part shrinks"
    if law.name == "chinchilla":
        return f"the irreducible loss E (median {med('E')}) along the compute-optimal frontier"
    if law.name == "broken_power_law":
        extra = f" and the irreducible term E (median {med('E')})" if "E" in post else ""
        return (
            f"the slope change delta_alpha (median {med('delta_alpha')}) at the break 10^{med('log10_x_break')}{extra}"
        )
    if law.name == "logistic":
        return f"the sigmoid's midpoint 10^{med('log10_x_mid')} and ceiling {med('ceiling')}"
    return "the law's functional form (its exponent is fixed)"


@lru_cache(maxsize=64)
def _returns_program(law: Law) -> Any:
    """Program ``(theta {name: (S,)}, t (G,), center, y_scale) -> {quantity: (S, G)}``: along
    :func:`path_function`, ``mu``, ``marginal_return`` (d mu / dt by ``jax.grad``), ``log_slope``
    (d ln mu / dt) and, where theta has E, ``log_slope_reducible`` (d ln(mu - E) / dt), for every
    draw and grid point. Jitted once per law (compiled once per shape)."""

    def build():
        def run(theta, t, center, y_scale):
            f = path_function(law, center, y_scale)

            def per_point(th, tt):
                mu = f(th, tt)
                dmu = jax.grad(f, argnums=1)(th, tt)
                out = {"mu": mu, "marginal_return": dmu, "log_slope": dmu / mu}
                if "E" in th:
                    out["log_slope_reducible"] = dmu / (mu - th["E"])
                return out

            return jax.vmap(jax.vmap(per_point, (None, 0)), (0, None))(theta, t)

        return run

    return jax.jit(build())
