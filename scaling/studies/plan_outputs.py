"""The outputs of a compute plan: files and figures (:func:`save_plan`, :func:`save_fleet`), and a
``[plan]`` study's report section (with ``[fleet]``: compute commitments over years)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from scaling.errors import SpecError
from scaling.planning.pipeline import PlanResult


def save_plan(result: PlanResult, folder: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> dict[str, Any]:
    """Write a plan's outputs to ``folder``, each file atomically: ``plan.nc`` (every draw),
    ``cone.csv``, ``plan_summary.csv``, ``can_pay_curve.csv``, ``pnl.csv`` and the ``cone``,
    ``can_pay`` and ``pnl`` figures in ``formats``. Returns the figures by name."""
    from scaling import io, plots

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    io.save(result.tree, folder / "plan.nc")
    for name, table in (
        ("cone", result.cone),
        ("plan_summary", result.plan.summary),
        ("can_pay_curve", result.plan.curve),
        ("pnl", result.pnl),
    ):
        io.atomic_write(folder / f"{name}.csv", lambda tmp, t=table: t.to_csv(tmp, index=False))
    figs = {
        "cone": plots.plot_cone(result),
        "can_pay": plots.plot_can_pay(result.plan),
        "pnl": plots.plot_pnl(result.pnl),
    }
    for name, fig in figs.items():
        plots.save_figure(fig, folder / name, formats=formats)
    return figs


def save_fleet(tree: Any, folder: str | Path, formats: tuple[str, ...] = ("png", "pdf")) -> dict[str, Any]:
    """Write a policy comparison to ``folder``: ``fleet.nc`` (every draw), ``policies.csv`` (every
    policy and level), ``policy_table.csv`` (the reference policies) and the ``risk_growth`` and
    ``fleet_fan`` figures in ``formats``. Returns the figures by name."""
    from scaling import io, plots
    from scaling.planning.policies import policy_table

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    io.save(tree, folder / "fleet.nc")
    table = tree["policies"].to_dataset().to_dataframe().reset_index()
    for name, t in (("policies", table), ("policy_table", policy_table(tree))):
        io.atomic_write(folder / f"{name}.csv", lambda tmp, t=t: t.to_csv(tmp, index=False))
    figs = {"risk_growth": plots.plot_risk_growth(tree), "fleet_fan": plots.plot_fleet_fan(tree)}
    for name, fig in figs.items():
        plots.save_figure(fig, folder / name, formats=formats)
    return figs


def fleet_section(tree: Any, figs: dict[str, Any], path_words: str) -> str:
    """The report's HTML on compute commitments over years: words, policy table, the two figures."""
    from scaling.planning.policies import KNOBS, policy_table
    from scaling.studies import report

    years = tree["schedule"]["year"].values
    chosen = tree["chosen"]
    table = policy_table(tree)
    rule = table.iloc[0]
    knobs = "; ".join(f"{k}: {v}" for k, v in KNOBS.items())
    return (
        "<h3>Compute commitments over years</h3>"
        + report.paragraph(
            f"Every year from {years[0]:.0f} to {years[-1]:.0f} a policy tops the fleet up to a capacity target set "
            "from the forecast at the start; each policy is compared on the same revenue paths (each posterior draw "
            "kept as a whole path), so P(cannot pay in some year) and the worst year are posterior quantities. "
            f"Knobs swept: {knobs}."
        )
        + report.bullets([path_words, *json.loads(tree.attrs["assumptions_text"])])
        + f"<p class='verdict'>{report.html.escape(_fleet_headline(rule))}</p>"
        + report.table_html(table, False)
        + report.figure_tag(figs["risk_growth"], "P(cannot pay) against expected gross profit, every policy and level")
        + report.figure_tag(
            figs["fleet_fan"], f"fleet and revenue under {chosen.attrs['policy']} {chosen.attrs['knob']:g}"
        )
    )


def _fleet_headline(rule: Any) -> str:
    return (
        f"10th-percentile rule: P(cannot pay in some year) = {rule['P(cannot pay)']:.2f}, expected cumulative "
        f"gross profit ${rule['E cumulative gross profit ($B)']:.4g}B, peak revenue required "
        f"${rule['peak revenue required ($B/yr)']:.4g}B a year."
    )


def _plan_study(spec: dict[str, Any], fits: dict[str, Any], common: dict[str, Any], tmp: Path) -> tuple[str, str]:
    """The ``[plan]`` study: :func:`scaling.planning.run_plan` on the spec's capability data.

    Trend shapes not fitted yet are fitted here with the same rows, units and sampler as the
    main fit (and added to ``fits``), so run_plan refits none of them. Writes what
    :func:`scaling.planning.save_plan` writes; returns the report section.
    """
    from scaling.infer.bayes import fit
    from scaling.planning.pipeline import run_plan
    from scaling.studies import report
    from scaling.studies.plan_outputs import save_plan
    from scaling.studies.spec import sampler_of, seed_of

    d, m = spec["data"], spec["model"]
    s = {"sampler": sampler_of(spec), "seed": seed_of(spec)}
    p = dict(spec["plan"])
    shapes, revenue = p.pop("shapes"), p.pop("revenue")
    fl = spec.get("fleet")
    paths = {"path_correlation": fl["correlation"], "path_walk_sd": fl["walk_sd"]} if fl else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for law in shapes:
            if law not in fits:
                fits[law] = fit(d["source"], law, x=m["x"], y=m["y"], **common, **s)
        try:
            r = run_plan(
                d["source"],
                revenue,
                x=m["x"][0],
                y=m["y"],
                where=d.get("where"),
                shapes=shapes,
                **s,
                fits={law: fits[law] for law in shapes},
                **p,
                **paths,
            )
        except ValueError as e:
            raise SpecError(f"{spec['_path']}: [plan]: {e}") from None
    figs = save_plan(r, tmp)
    billions = r.cone.set_index("year") / 1e9
    billions.columns = [f"{c} ($B/yr)" for c in billions.columns]
    pl = r.plan
    body = (
        report.paragraph(
            f"Capability draws ({m['y']}, stacked trend shapes) pushed through a revenue mapping fitted to "
            f"{p['company']}'s run-rate reports give the cone of revenue; compute committed in {p['start']:g} "
            f"arrives in {pl.year:.1f} and is paid from revenue then. The cone has no economic ceiling "
            "(market size, GDP): its far end is what the trends say."
        )
        + report.bullets(r.assumptions)
        + report.figure_tag(figs["cone"], "revenue cone beside the naive extrapolation")
        + report.table_html(billions)
        + f"<p class='verdict'>{report.html.escape(_plan_headline(pl))}</p>"
        + report.figure_tag(figs["can_pay"], "P(can pay) against the compute commitment")
        + report.table_html(pl.summary.assign(value=[f"{v:.5g}" for v in pl.summary["value"]]), False)
        + report.figure_tag(figs["pnl"], "model-as-a-company P&L by generation")
        + report.table_html(r.pnl, False)
    )
    if fl:
        from scaling.planning.policies import plan_policies
        from scaling.studies.spec_tables import fleet_assumptions

        tree = plan_policies(
            r, assumptions=fleet_assumptions(spec), chosen=(fl["policy"], fl["knob"]), years=fl["years"]
        )
        words = next(a for a in r.assumptions if a.startswith("revenue paths"))
        body += fleet_section(tree, save_fleet(tree, tmp), words)
    return "Revenue cone and compute plan", body


def _plan_headline(pl: Any) -> str:
    def usd(v: float) -> str:
        return f"${v / 1e12:.3g}T" if abs(v) >= 1e12 else f"${v / 1e9:.3g}B"

    short = float((pl.demand_draws < pl.newsvendor_commitment).mean())
    return (
        f"Largest commitment affordable at revenue p{pl.percentile:g}: {usd(pl.affordable_commitment)} of capex "
        f"({usd(pl.affordable_commitment * pl.cost_rate)} a year). Commitment minimising expected cost "
        f"(newsvendor): {usd(pl.newsvendor_commitment)}, with P(cannot pay) = {short:.2f}."
    )
