"""From capability to revenue and compute commitments: the revenue mapping, the cone of
uncertainty, the compute plan and the model-as-a-company P&L, revenue paths over years, a fleet
of compute cohorts and commitment policies compared by risk, all as posterior draws."""

from scaling.planning.compute import Plan, affordable_compute, annual_cost_rate, plan, plan_year, supported_revenue
from scaling.planning.fleet import FleetAssumptions, evaluate_commitments
from scaling.planning.paths import correlated_paths, path_scatter, revenue_paths
from scaling.planning.pipeline import PlanResult, run_plan
from scaling.planning.pnl import breakeven, generation_pnl
from scaling.planning.policies import POLICIES, compare_policies, default_levels, plan_policies, policy_table
from scaling.planning.revenue import fit_revenue_mapping, naive_revenue, revenue_from_capability, scenario_revenue

__all__ = [
    "POLICIES",
    "FleetAssumptions",
    "Plan",
    "PlanResult",
    "affordable_compute",
    "annual_cost_rate",
    "breakeven",
    "compare_policies",
    "correlated_paths",
    "default_levels",
    "evaluate_commitments",
    "fit_revenue_mapping",
    "generation_pnl",
    "naive_revenue",
    "path_scatter",
    "plan",
    "plan_policies",
    "plan_year",
    "policy_table",
    "revenue_from_capability",
    "revenue_paths",
    "run_plan",
    "scenario_revenue",
    "supported_revenue",
]
