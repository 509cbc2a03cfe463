"""The diagnostics gate: is a fit trustworthy enough to speak?

:func:`diagnose` checks, per parameter and per problem, the rank-normalised
split R-hat (<= ``rhat_max``, default 1.01), bulk and tail ESS (>= ``ess_min``,
default 400), divergent transitions (none allowed), E-BFMI per chain
(>= 0.3, else a warning) and tree-depth saturation (at most 1% of draws at
the maximum depth, else a warning), using ArviZ 1.x. The result is
``"pass"``, ``"warn"`` or ``"fail"`` with the reasons; later verdicts
(law comparison, returns, forecasts) call it first and refuse to give a number
when it fails.

Point fits (bootstrap replicates) are checked for optimiser convergence instead:
every replicate's final gradient norm must be below ``grad_tol``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.errors import ScalingError

ORDER = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class Diagnosis:
    """Outcome of :func:`diagnose`: overall ``status``, ``reasons`` and per-parameter ``table``."""

    status: str
    reasons: list[str] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True unless the gate failed (warnings still let verdicts speak, with the warning)."""
        return self.status != "fail"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``diagnostics.json``)."""
        table = self.table.reset_index().to_dict(orient="records") if len(self.table) else []
        return json.loads(
            json.dumps(
                {"status": self.status, "reasons": self.reasons, "summary": self.summary, "parameters": table},
                default=float,
            )
        )

    def __str__(self) -> str:
        lines = [f"diagnostics: {self.status.upper()}"] + [f"  - {r}" for r in self.reasons]
        if len(self.table):
            lines.append(self.table.to_string(float_format=lambda v: f"{v:.4g}"))
        return "\n".join(lines)


def _worse(a: str, b: str) -> str:
    return a if ORDER[a] >= ORDER[b] else b


def ebfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI per chain: ``sum(diff(E)^2) / sum((E - mean E)^2)`` over draws (Betancourt 2016)."""
    e = np.asarray(energy, dtype=float)
    return np.sum(np.diff(e, axis=1) ** 2, axis=1) / np.sum((e - e.mean(axis=1, keepdims=True)) ** 2, axis=1)


def diagnose(
    fit: xr.DataTree,
    *,
    rhat_max: float = 1.01,
    ess_min: float = 400.0,
    bfmi_min: float = 0.3,
    treedepth_frac_max: float = 0.01,
    grad_tol: float = 1e-5,
    var_names: list[str] | None = None,
) -> Diagnosis:
    """Check a fit's convergence; see the module docstring for the rules.

    Returns
    -------
    Diagnosis with ``status`` in {"pass", "warn", "fail"}, ``reasons`` (one line
    per failed or warned check, naming the parameter and problem), and ``table``
    (R-hat, bulk/tail ESS and status per parameter; per problem for ``fit_many``).
    """
    if "posterior" not in fit.children:
        raise ScalingError("diagnose needs a fit with a posterior group (from scaling.fit, fit_many or fit_point).")
    if "sample" in fit["posterior"].dims:
        return _diagnose_point(fit, grad_tol)
    import arviz_stats as azs  # ArviZ's computations, without arviz-plots (matplotlib)

    post = fit["posterior"].to_dataset()
    names = var_names or [v for v in post.data_vars if set(post[v].dims) <= {"chain", "draw", "problem"}]
    rhat = azs.rhat(post[names])
    bulk = azs.ess(post[names], method="bulk")
    tail = azs.ess(post[names], method="tail")
    rows, reasons, status = [], [], "pass"
    problems = list(post["problem"].values) if "problem" in post.dims else [None]
    for prob in problems:
        where = "" if prob is None else f" (problem {prob})"
        for v in names:
            r, eb, et = (_value(d, v, prob) for d in (rhat, bulk, tail))
            s = "pass"
            if not np.isfinite(r) or r > rhat_max:
                s = "fail"
                reasons.append(f"R-hat of {v}{where} is {r:.3f} > {rhat_max}")
            for kind, e in (("bulk", eb), ("tail", et)):
                if not np.isfinite(e) or e < ess_min:
                    s = "fail"
                    reasons.append(f"{kind} ESS of {v}{where} is {e:.0f} < {ess_min:g}")
            status = _worse(status, s)
            rows.append({"problem": prob, "parameter": v, "r_hat": r, "ess_bulk": eb, "ess_tail": et, "status": s})
    summary: dict[str, Any] = {"rhat_max": rhat_max, "ess_min": ess_min}
    stats = fit["sample_stats"].to_dataset() if "sample_stats" in fit.children else None
    if stats is not None:
        status = _sampler_checks(stats, problems, reasons, summary, status, bfmi_min, treedepth_frac_max)
    table = pd.DataFrame(rows).set_index(["problem", "parameter"] if problems != [None] else ["parameter"])
    if problems == [None]:
        table = table.drop(columns="problem")
    return Diagnosis(status, reasons, table, summary)


def _key(problem: Any) -> str:
    return "fit" if problem is None else str(problem)


def _value(ds: xr.Dataset, var: str, problem: Any) -> float:
    """A scalar diagnostic of ``var`` (for one problem of a batched fit)."""
    return float(ds[var] if problem is None else ds[var].sel(problem=problem))


def _sampler_checks(stats, problems, reasons, summary, status, bfmi_min, treedepth_frac_max) -> str:
    for prob in problems:
        where = "" if prob is None else f" (problem {prob})"
        s = stats if prob is None else stats.sel(problem=prob)
        n_div = int(s["diverging"].sum())
        n_draws = int(s["diverging"].size)
        summary.setdefault("divergences", {})[_key(prob)] = n_div
        if n_div:
            status = "fail"
            reasons.append(
                f"{n_div} divergent transitions{where} ({n_div / n_draws:.1%} of draws): the posterior "
                "has regions the sampler cannot explore; reparameterise or raise target_accept"
            )
        if "energy" in s:
            b = ebfmi(s["energy"].transpose("chain", "draw").values)
            summary.setdefault("ebfmi", {})[_key(prob)] = [float(x) for x in b]
            if (b < bfmi_min).any():
                status = _worse(status, "warn")
                reasons.append(f"E-BFMI{where} below {bfmi_min} in chain(s) {list(np.flatnonzero(b < bfmi_min))}")
        if "reached_max_tree_depth" in s:
            frac = float(s["reached_max_tree_depth"].mean())
            summary.setdefault("treedepth_saturation", {})[_key(prob)] = frac
            if frac > treedepth_frac_max:
                status = _worse(status, "warn")
                reasons.append(f"{frac:.1%} of draws{where} hit the maximum tree depth; raise max_tree_depth")
    return status


def _diagnose_point(fit: xr.DataTree, grad_tol: float) -> Diagnosis:
    stats = fit["fit_stats"].to_dataset()
    g = stats["grad_norm"].values
    bad = int(np.sum(~(g < grad_tol)))
    reasons = [] if bad == 0 else [f"{bad} of {g.size} replicate(s) stopped with gradient norm >= {grad_tol:g}"]
    status = "pass" if bad == 0 else ("warn" if bad <= 0.01 * g.size else "fail")
    table = pd.DataFrame(
        {"grad_norm_max": [float(np.max(g))], "n_iter_max": [int(stats["n_iter"].max())]},
        index=pd.Index(["optimiser"], name="parameter"),
    )
    return Diagnosis(status, reasons, table, {"replicates": int(g.size), "not_converged": bad})
