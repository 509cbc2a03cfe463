"""Model-as-a-company P&L (:func:`generation_pnl`): generation i is trained in year ``first_year + i``
for ``first_cost * cost_growth**i`` and earns gross profit ``g R(y + 1)`` on next year's revenue;
:func:`breakeven` says from which generation the company pays for itself."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scaling.checks import check_gross_margin
from scaling.deprecation import renamed
from scaling.planning.compute import _check_positive


@renamed(n_generations="num_generations")
def generation_pnl(
    revenue_draws: np.ndarray,
    years: np.ndarray,
    *,
    first_year: float,
    first_cost: float = 1e8,
    cost_growth: float = 10.0,
    gross_margin: float = 0.8,
    num_generations: int = 6,
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
    for i in range(num_generations):
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
