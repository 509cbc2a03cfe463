"""From capability to revenue and compute commitments: the cone of uncertainty.

Every function takes and returns posterior **draws**, so uncertainty flows end to
end: capability draws -> revenue draws -> affordable compute.

Revenue mapping. Log revenue is linear in log capability,
``ln R = ln R0 + b ln(cap / cap0)``: each doubling of capability multiplies
revenue by ``2^b``. It is a :func:`~scaling.laws.power_law` of revenue against
capability (``b = -alpha``), fitted with NUTS to a revenue history against the
frontier capability at the same dates (:func:`fit_revenue_mapping`), or set by the
user as scenario parameters (:func:`scenario_revenue`). Its residual scatter ``sigma`` is part of the cone.

Affordability. With gross margin ``g`` (revenue minus cost of revenue, over
revenue) and compute's share ``s`` of the cost of revenue, revenue ``R`` pays for
``s (1 - g) R`` a year of compute (at ``g = 0.8``, ``s = 1``: $100B pays for $20B).
A commitment of capex ``K`` costs ``d K`` a year, ``d = max(1 / T, 1 - 1 / q)``:
straight-line amortisation over ``T`` years, or faster when price-performance
improves by ``q`` a year, so that a chip's value falls by ``1 - 1/q`` a year
(1 GW at $50B over 5 years: $10B a year; with ``q = 1.4``: $14.3B a year).
The compute arrives ``lead_time`` years after it is committed, so it is paid from
revenue at that year.

* largest affordable commitment at revenue percentile ``p``: ``K_p = s (1 - g) R_p / d``;
* ``P(cannot pay | K) = P(R < d K / (s (1 - g)))``;
* newsvendor: demand in capex units ``N = s (1 - g) R / d``; buying ``K < N`` loses
  revenue ``(N - K) d / (s (1 - g))`` and with it gross profit (cost ``c_u = g d / (s (1 - g))``
  per dollar short), buying ``K > N`` leaves ``(K - N)`` idle at ``c_o = d`` a year per dollar;
  expected cost is minimised at the ``c_u / (c_u + c_o)`` quantile of ``N`` (the critical fractile).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling.checks import check_gross_margin
from scaling.planning.compute import _check_positive


def generation_pnl(
    revenue_draws: np.ndarray,
    years: np.ndarray,
    *,
    first_year: float,
    first_cost: float = 1e8,
    cost_growth: float = 10.0,
    gross_margin: float = 0.8,
    n_generations: int = 6,
) -> pd.DataFrame:
    """Model-as-a-company P&L: generation i is trained in year ``first_year + i`` for
    ``first_cost * cost_growth**i`` and earns the company's revenue of the next year.

    Per generation: gross profit ``g R(y + 1)`` minus its training cost (a $0.1B model
    earning $0.2B while the next costs $1B). Per year: gross profit of the model on sale
    minus the training cost of the one being trained. Quantiles over revenue draws.
    """
    g = check_gross_margin(gross_margin, "generation_pnl")
    _check_positive("first_cost", first_cost, "generation_pnl")
    _check_positive("cost_growth", cost_growth, "generation_pnl")
    rows = []
    for i in range(n_generations):
        y_train = first_year + i
        cost = first_cost * cost_growth**i
        j_sale = int(np.argmin(np.abs(years - (y_train + 1))))
        if abs(years[j_sale] - (y_train + 1)) > 0.5:
            break
        profit = g * revenue_draws[:, j_sale] - cost
        company = g * revenue_draws[:, j_sale] - cost * cost_growth  # selling gen i while training gen i+1
        q = np.percentile(profit, [10, 50, 90])
        cq = np.percentile(company, [10, 50, 90])
        rows.append(
            {
                "generation": i,
                "trained_in": y_train,
                "training_cost": cost,
                "revenue_median_next_year": float(np.median(revenue_draws[:, j_sale])),
                "generation_profit_p10": q[0],
                "generation_profit_p50": q[1],
                "generation_profit_p90": q[2],
                "company_pnl_p10": cq[0],
                "company_pnl_p50": cq[1],
                "company_pnl_p90": cq[2],
                "p_company_profitable": float(np.mean(company > 0)),
            }
        )
    return pd.DataFrame(rows)


def breakeven(pnl: pd.DataFrame, prob: float = 0.5) -> str:
    """When the company breaks even under the cone: the first generation with P(company P&L > 0) >= ``prob``."""
    ok = pnl[pnl["p_company_profitable"] >= prob]
    if len(ok) == 0:
        return f"the company does not break even (P >= {prob:g}) within the cone"
    row = ok.iloc[0]
    return (
        f"the company breaks even from the generation trained in {int(row['trained_in'])} "
        f"(P(profit) = {row['p_company_profitable']:.2f}, training cost ${row['training_cost'] / 1e9:g}B)"
    )
