"""From capability to revenue and compute commitments: the revenue mapping, the cone of
uncertainty, the compute plan and the model-as-a-company P&L, all as posterior draws."""

from scaling.planning.compute import Plan, affordable_compute, annual_cost_rate, plan, supported_revenue
from scaling.planning.pipeline import PlanResult, run_plan
from scaling.planning.pnl import breakeven, generation_pnl
from scaling.planning.revenue import fit_revenue_mapping, naive_revenue, revenue_from_capability, scenario_revenue

__all__ = [
    "Plan",
    "PlanResult",
    "affordable_compute",
    "annual_cost_rate",
    "breakeven",
    "fit_revenue_mapping",
    "generation_pnl",
    "naive_revenue",
    "plan",
    "revenue_from_capability",
    "run_plan",
    "scenario_revenue",
    "supported_revenue",
]
