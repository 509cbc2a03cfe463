"""Figures of the compute fleet: policies by risk and growth, and the fleet under one policy.

Both take the DataTree of :func:`scaling.planning.compare_policies` (or ``plan_policies``) and
return a :class:`matplotlib.figure.Figure` made without pyplot, in the :data:`PALETTE`.

* :func:`plot_risk_growth`: for every policy and level of its knob, P(cannot pay in some year)
  against expected cumulative gross profit ($B, symlog); the frontier (no point both safer
  and more profitable) is drawn as a step line, the chosen policy ringed;
* :func:`plot_fleet_fan`: demand (10-90% and 25-75% of paths, median), revenue served
  (median), the fleet's capacity and the revenue the commitments require; below, the cash
  balance (10-90%, median) against zero.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scaling.errors import ScalingError
from scaling.plots.base import PALETTE, _bands, _figsize, _log_axis, _new_axes, tick_label


def _symlog(axis: Any, set_scale: Any) -> None:
    """Symmetric log scale (linear within $1B of zero) with plain-text :func:`tick_label` ticks."""
    from matplotlib.ticker import FuncFormatter

    set_scale("symlog", linthresh=1.0)
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: tick_label(x)))


def _fleet_tree(tree: Any, what: str) -> None:
    if getattr(tree, "attrs", {}).get("kind") != "fleet":
        raise ScalingError(f"{what} takes the result of scaling.planning.compare_policies (or plan_policies).")


def plot_risk_growth(tree: Any, *, size: str = "single"):
    """Risk (P(cannot pay)) against growth (expected cumulative gross profit), one point per policy and level."""
    _fleet_tree(tree, "plot_risk_growth")
    pol = tree["policies"].to_dataset()
    fig, ax = _new_axes(size)
    markers = "osD^v"
    for i, name in enumerate(pol["policy"].values):
        p = pol.sel(policy=name)
        x = p["expected_gross_profit"].values / 1e9
        ax.plot(x, p["p_cannot_pay"].values, marker=markers[i % 5], ms=2.5, lw=0.7, color=PALETTE[i], label=str(name))
    front = pol["on_frontier"].values
    fx = pol["expected_gross_profit"].values[front] / 1e9
    fy = pol["p_cannot_pay"].values[front]
    order = np.argsort(fx)
    ax.step(fx[order], fy[order], where="post", color="0.2", lw=1.0, ls="--", label="frontier")
    chosen = tree["chosen"]
    name, knob = chosen.attrs.get("policy"), chosen.attrs.get("knob")
    if name in list(pol["policy"].values):
        p = pol.sel(policy=name)
        j = int(np.argmin(np.abs(p["knob"].values - float(knob))))
        ax.plot(
            p["expected_gross_profit"].values[j] / 1e9,
            p["p_cannot_pay"].values[j],
            "o",
            ms=7,
            mfc="none",
            color=PALETTE[7],
            label=f"chosen: {name} {float(knob):g}",
        )
    _symlog(ax.xaxis, ax.set_xscale)
    ax.set_xlabel("expected cumulative gross profit ($B)")
    ax.set_ylabel("P(cannot pay in some year)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=5, frameon=False)
    return fig


def plot_fleet_fan(tree: Any, *, size: str = "double", probs: tuple[float, ...] = (0.5, 0.8)):
    """Demand, revenue served, capacity and required revenue under the chosen policy; cash balance below."""
    from matplotlib.figure import Figure

    _fleet_tree(tree, "plot_fleet_fan")
    ds = tree["chosen"].to_dataset()
    years = ds["year"].values
    w, h = _figsize(size)
    fig = Figure(figsize=(w, h * 1.3), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    demand = ds["demand"].values / 1e9
    for i, (p, lo, hi) in enumerate(_bands(demand, probs)):
        top.fill_between(years, lo, hi, color=PALETTE[0], alpha=0.15 + 0.12 * i, lw=0, label=f"demand {p:.0%}")
    top.plot(years, np.median(demand, axis=0), color=PALETTE[0], lw=1.2, label="demand median")
    top.plot(years, np.median(ds["served"].values, axis=0) / 1e9, color=PALETTE[2], lw=1.2, label="served median")
    top.plot(years, ds["capacity"].values / 1e9, color=PALETTE[3], lw=1.2, ls="--", label="fleet capacity")
    top.plot(years, ds["required_revenue"].values / 1e9, color=PALETTE[1], lw=1.2, ls=":", label="revenue required")
    _log_axis(top, "y")
    top.set_ylabel("$B a year")
    title = f"{ds.attrs.get('policy', '')} {ds.attrs.get('knob', '')}".strip()
    top.set_title(
        f"fleet and revenue under the chosen policy ({title}), P(cannot pay) = {ds.attrs['p_cannot_pay']:.2f}",
        fontsize=8,
    )
    top.legend(fontsize=6, frameon=False, ncol=2)
    balance = ds["balance"].values / 1e9
    for i, (p, lo, hi) in enumerate(_bands(balance, probs)):
        bottom.fill_between(years, lo, hi, color=PALETTE[4], alpha=0.15 + 0.12 * i, lw=0, label=f"balance {p:.0%}")
    bottom.plot(years, np.median(balance, axis=0), color=PALETTE[4], lw=1.2, label="balance median")
    bottom.axhline(0.0, color="0.3", lw=0.8)
    _symlog(bottom.yaxis, bottom.set_yscale)
    bottom.set_ylabel("cash balance ($B)")
    bottom.set_xlabel("year compute is in service")
    bottom.set_xticks(years, [f"{int(y)}" for y in years])
    bottom.legend(fontsize=6, frameon=False)
    return fig
