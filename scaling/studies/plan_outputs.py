"""The outputs of a compute plan: files and figures (:func:`save_plan`), and a ``[plan]`` study's report section."""

from __future__ import annotations

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


def _plan_study(spec: dict[str, Any], fits: dict[str, Any], common: dict[str, Any], tmp: Path) -> tuple[str, str]:
    """The ``[plan]`` study: :func:`scaling.economics.run_plan` on the spec's capability data.

    Trend shapes not fitted yet are fitted here with the same rows, units and sampler as the
    main fit (and added to ``fits``), so run_plan refits none of them. Writes what
    :func:`scaling.economics.save_plan` writes; returns the report section.
    """
    from scaling.infer.bayes import fit
    from scaling.planning.pipeline import run_plan
    from scaling.studies import report
    from scaling.studies.plan_outputs import save_plan

    d, m, s = spec["data"], spec["model"], spec.get("sampler", {})
    p = dict(spec["plan"])
    shapes, revenue = p.pop("shapes"), p.pop("revenue")
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
                fit_kwargs=s,
                fits={law: fits[law] for law in shapes},
                seed=s.get("seed", 0),
                **p,
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
