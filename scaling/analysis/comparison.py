"""Law comparison by PSIS-LOO (ArviZ 1.x), gated on diagnostics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.analysis.diagnostics import diagnose
from scaling.errors import ScalingError


@dataclass
class Comparison:
    """Outcome of :func:`compare`.

    ``table``: one row per fit, best first: ``elpd`` (expected log predictive
    density, PSIS-LOO), ``se``, ``elpd_diff`` and ``dse`` (difference to the best
    and its standard error), ``p`` (effective parameters), ``weight`` (stacking).
    ``status``: ``"pass"``, ``"warn"`` (points with a high Pareto k) or ``"fail"`` (a fit failed the
    diagnostics gate: the comparison is unreliable and ``table`` is ``None``), the status words of
    :func:`scaling.diagnose` (0.2 said ``"ok"`` and ``"unreliable"``).
    ``high_k``: points with Pareto k above the threshold, per fit, naming the data row.
    """

    status: str
    reasons: list[str] = field(default_factory=list)
    table: pd.DataFrame | None = None
    high_k: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __str__(self) -> str:
        if self.table is None:
            return "comparison unreliable: " + "; ".join(self.reasons)
        lines = [self.table.to_string(float_format=lambda v: f"{v:.4g}")]
        lines += [f"warning: {r}" for r in self.reasons]
        return "\n".join(lines)


def pareto_k_table(fit: xr.DataTree, threshold: float = 0.7) -> pd.DataFrame:
    """Points whose PSIS Pareto k exceeds ``threshold``: data row, inputs, y and k."""
    import arviz_stats as azs  # ArviZ's computations, without arviz-plots (matplotlib)

    k = np.asarray(azs.loo(fit, pointwise=True).pareto_k)
    obs = fit["observed_data"].to_dataset()
    const = fit["constant_data"].to_dataset()
    idx = np.flatnonzero(k > threshold)
    table = pd.DataFrame({"row": obs["row"].values[idx] if "row" in obs.coords else idx})
    for name, var in const.data_vars.items():
        if var.dims == ("point",):
            table[name] = var.values[idx]
    table["y"] = obs["y"].values[idx]
    table["pareto_k"] = k[idx]
    return table


def compare_table(data: Mapping[str, Any], method: str = "stacking") -> pd.DataFrame:
    """``arviz_stats.compare`` of fits or precomputed ELPD estimates (LOO, reloo, LFO) by name:
    one row per entry, best first, columns ``rank, elpd, se, elpd_diff, dse, p, weight``."""
    import arviz_stats as azs

    table = pd.DataFrame(azs.compare(dict(data), method=method, round_to="none"))  # default rounds to 2 digits
    return table[[c for c in ("rank", "elpd", "se", "elpd_diff", "dse", "p", "weight") if c in table.columns]]


def compare(
    fits: Mapping[str, xr.DataTree], *, method: str = "stacking", k_threshold: float = 0.7, gate: bool = True
) -> Comparison:
    """Compare fits of different laws to the same data by PSIS-LOO.

    Every fit must pass :func:`scaling.analysis.diagnostics.diagnose` (``gate=True``);
    otherwise the result's status is ``"fail"`` (unreliable), with the reasons and no numbers.
    Points with Pareto k > ``k_threshold`` are listed by data row: their LOO
    estimate is unreliable, and so is an elpd difference that hinges on them.
    """
    if len(fits) < 2:
        raise ScalingError("compare needs at least two fits, as a dict name -> fit.")
    hashes = {name: dt.attrs.get("data_sha256") for name, dt in fits.items()}
    if len(set(hashes.values())) != 1:
        raise ScalingError(f"compare needs fits to the same data; data hashes differ: {hashes}.")
    reasons = []
    for name, dt in fits.items():
        if "log_likelihood" not in dt.children:
            raise ScalingError(
                f"Fit {name!r} has no log_likelihood group; compare needs Bayesian fits from scaling.fit."
            )
        if gate:
            d = diagnose(dt)
            if not d.ok:
                reasons.append(f"{name} failed diagnostics ({d.reasons[0]})")
    if reasons:
        return Comparison("fail", reasons)
    table = compare_table(fits, method)
    high_k = {}
    for name, dt in fits.items():
        hk = pareto_k_table(dt, k_threshold)
        if len(hk):
            high_k[name] = hk
            reasons.append(f"{name}: Pareto k > {k_threshold} at data row(s) {list(hk['row'])}")
    return Comparison("warn" if high_k else "pass", reasons, table, high_k)


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    """JSON-ready form of a comparison."""
    return json.loads(
        json.dumps(
            {
                "status": c.status,
                "reasons": c.reasons,
                "table": None if c.table is None else c.table.reset_index(names="fit").to_dict(orient="records"),
                "high_k": {k: v.to_dict(orient="records") for k, v in c.high_k.items()},
            },
            default=float,
        )
    )
