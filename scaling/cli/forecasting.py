"""The forecasting and planning commands: ``scaling backtest``, ``forecast`` and ``plan``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from scaling import io
from scaling.checks import GROSS_MARGIN_RULE, check_finite
from scaling.cli.common import app, columns, console, err, say_error, user_errors


@app.command("backtest")
def backtest_cmd(
    data: Annotated[str, typer.Argument(help="CSV file or dataset name.")],
    law: Annotated[str, typer.Option(help="Law name.")],
    x: Annotated[str, typer.Option(help="Input column(s), comma-separated.")],
    y: Annotated[str, typer.Option(help="Observed column.")],
    cutoff: Annotated[
        list[float] | None, typer.Option(help="Train below this split value (repeat for rolling origins).")
    ] = None,
    split_on: Annotated[str | None, typer.Option(help="Column to split on (default: the law's input).")] = None,
    likelihood: Annotated[str | None, typer.Option(help="Likelihood of the Bayesian fit.")] = None,
    where: Annotated[str | None, typer.Option(help="Row filter (excluded rows reported).")] = None,
    dropna: Annotated[bool, typer.Option(help="Exclude rows with missing values (reported).")] = False,
    out: Annotated[Path | None, typer.Option(help="Write backtest.csv here.")] = None,
    seed: int = 0,
) -> None:
    """Fit below a cutoff, predict above it: coverage, CRPS and errors for Bayes vs point fits."""
    from scaling.analysis.backtesting import backtest

    if out is not None:
        with user_errors():
            io.check_output_dir(out)

    if not cutoff:
        say_error("give at least one --cutoff (in the split column's units, e.g. 8.4e22 FLOP).")
        raise typer.Exit(2)
    with user_errors():
        result = backtest(
            data,
            law,
            x=columns(x),
            y=y,
            cutoffs=cutoff,
            split_on=split_on,
            likelihood=likelihood,
            where=where,
            dropna=dropna,
            seed=seed,
        )
    console.print(str(result))
    for note in result.notes:
        err.print(f"note: {note}")
    if out:
        with user_errors():
            io.results_dir(out, "backtest")
        io.atomic_write(out / "backtest.csv", lambda tmp: result.table.to_csv(tmp, index=False))
        console.print(f"wrote {out / 'backtest.csv'}")


@app.command("forecast")
def forecast_cmd(
    data: Annotated[str, typer.Argument(help="CSV file or dataset name.")],
    x: Annotated[str, typer.Option(help="Date column (ISO dates or decimal years).")],
    y: Annotated[str, typer.Option(help="Capability column (e.g. p50_minutes).")],
    threshold: Annotated[float | None, typer.Option(help="Capability level to time, in y's units.")] = None,
    horizon: Annotated[str, typer.Option(help="Forecast to this date or year.")] = "2030",
    where: Annotated[str | None, typer.Option(help="Row filter, e.g. 'frontier == 1'.")] = None,
    direction: Annotated[str, typer.Option(help="'up' (capability) or 'down' (loss).")] = "up",
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/forecast"),
    seed: int = 0,
) -> None:
    """Fit trend shapes to a capability series, stack them, and time a threshold: fan chart + tables."""
    from scaling import plots
    from scaling.analysis.forecasting import forecast

    with user_errors():
        io.check_output_dir(out)
        if threshold is not None:
            check_finite("threshold", threshold, "--threshold", positive=True)
    console.print(f"fitting {y} against {x} with 3 trend shapes (exponential, quadratic, logistic)...")
    with user_errors():
        fc = forecast(
            data,
            x=x,
            y=y,
            horizon=horizon,
            threshold=threshold,
            direction=direction,
            where=where,
            seed=seed,
        )
    console.print("assumptions", style="bold")
    for a in fc.assumptions:
        console.print(f"  - {a}")
    table = fc.quantile_table()
    console.print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    with user_errors():
        io.results_dir(out, "forecast")
    io.atomic_write(out / "forecast_quantiles.csv", lambda tmp: table.to_csv(tmp, index=False))
    io.atomic_write(out / "assumptions.txt", lambda tmp: tmp.write_text("\n".join(fc.assumptions) + "\n"))
    if fc.unreliable:
        console.print(Text.assemble(("forecast unreliable:", "bold red"), f" {fc.unreliable}; no dates are given"))
    for name, c in (("crossing_quantiles.csv", fc.crossing), ("trend_crossing_quantiles.csv", fc.trend_crossing)):
        if c is None:
            continue
        console.print(Text.assemble((f"{c.question}?", "bold"), f" P(not by {c.horizon:.0f}) = {c.p_never:.2f}"))
        console.print(str(c))
        io.atomic_write(out / name, lambda tmp, c=c: c.table.to_csv(tmp, index=False))
    written = plots.save_figure(plots.plot_fan(fc), out / "fan", formats=("png", "pdf"))
    console.print(f"wrote {out}/forecast_quantiles.csv, assumptions.txt, {', '.join(written)}")


@app.command("plan")
def plan_cmd(
    company: Annotated[
        str, typer.Option(help="Company whose run-rate revenue maps capability to revenue.")
    ] = "Anthropic",
    start: Annotated[float, typer.Option(help="Year the commitment is made.")] = 2026.0,
    horizon: Annotated[float, typer.Option(help="Last year of the cone.")] = 2030.0,
    lead_time: Annotated[float, typer.Option(help="Years from commitment to the compute arriving.")] = 1.5,
    gross_margin: Annotated[float, typer.Option(help=f"Gross margin, {GROSS_MARGIN_RULE}.")] = 0.8,
    compute_share: Annotated[float, typer.Option(help="Compute's share of the cost of revenue, (0, 1].")] = 1.0,
    amortisation_years: Annotated[float, typer.Option(help="Straight-line amortisation period.")] = 5.0,
    efficiency_gain: Annotated[float, typer.Option(help="Price-performance gain per year (chip depreciation).")] = 1.4,
    percentile: Annotated[float, typer.Option(help="Revenue percentile that must still pay, in (0, 100).")] = 10.0,
    years: Annotated[
        int | None, typer.Option(help="Also plan commitments over this many years of arrivals: the fleet.")
    ] = None,
    correlation: Annotated[float, typer.Option(help="Year-to-year correlation of revenue scatter, [0, 1].")] = 0.9,
    pay_share: Annotated[
        float | None, typer.Option(help="Share of revenue served that pays the fleet (default s (1 - g)).")
    ] = None,
    vendor_financing: Annotated[float, typer.Option(help="Dollars of compute a vendor pays up front.")] = 0.0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/plan"),
    seed: int = 0,
    num_warmup: Annotated[int | None, typer.Option(help="Warm-up steps per chain of every fit.")] = None,
    num_samples: Annotated[int | None, typer.Option(help="Draws per chain of every fit.")] = None,
    num_chains: Annotated[int | None, typer.Option(help="Chains of every fit.")] = None,
) -> None:
    """Revenue cone from the capability forecast, and how much compute one can commit to.

    With --years, commitments over years too: a fleet of aging cohorts paid from revenue paths,
    and commitment policies compared by P(cannot pay) and expected gross profit. --num-warmup,
    --num-samples and --num-chains replace the default sampler settings (scaling.Sampler) of
    every fit.
    """
    import math

    from scaling.planning.pipeline import run_plan

    with user_errors():
        io.check_output_dir(out)

    fleet = None
    if years is not None:
        from scaling.planning.fleet import FleetAssumptions

        if years < 1:
            say_error(f"--years must be >= 1 (years of arrivals); got {years}.")
            raise typer.Exit(2)
        with user_errors():
            fleet = FleetAssumptions(
                gross_margin=gross_margin,
                compute_share=compute_share,
                amortisation_years=max(1, round(amortisation_years)),
                efficiency_gain=efficiency_gain,
                lead_time=math.ceil(lead_time),
                pay_share=pay_share,
                vendor_financing=vendor_financing,
            )
        last = math.ceil(start) + fleet.lead_time + years - 1
        if last > horizon:
            err.print(f"note: the cone is extended to {last} for {years} years of arrivals")
            horizon = float(last)
    with user_errors():
        r = run_plan(
            company=company,
            start=start,
            horizon=horizon,
            lead_time=lead_time,
            gross_margin=gross_margin,
            compute_share=compute_share,
            amortisation_years=amortisation_years,
            efficiency_gain=efficiency_gain,
            percentile=percentile,
            seed=seed,
            path_correlation=correlation,
            sampler={
                k: v
                for k, v in {"num_warmup": num_warmup, "num_samples": num_samples, "num_chains": num_chains}.items()
                if v is not None
            },
        )
    console.print("assumptions", style="bold")
    for a in r.assumptions:
        console.print(f"  - {a}")
    console.print("revenue cone ($B per year)", style="bold")
    console.print((r.cone.set_index("year") / 1e9).round(2).to_string())
    console.print("compute plan", style="bold")
    console.print(r.plan.summary.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    console.print("model-as-a-company P&L", style="bold")
    console.print(r.pnl.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    from scaling.studies.plan_outputs import save_plan

    with user_errors():
        io.results_dir(out, "plan")
    save_plan(r, out)
    console.print(
        f"wrote {out}/plan.nc, cone.csv, plan_summary.csv, can_pay_curve.csv, pnl.csv, cone/can_pay/pnl.png/pdf"
    )
    if fleet is not None:
        from scaling.planning.policies import plan_policies, policy_table
        from scaling.studies.plan_outputs import save_fleet

        with user_errors():
            tree = plan_policies(r, assumptions=fleet, years=years, chosen=("percentile", percentile))
        y = tree["schedule"]["year"].values
        console.print(f"compute commitments over years (arrivals {y[0]:.0f}-{y[-1]:.0f})", style="bold")
        for a in fleet.describe():
            console.print(f"  - {a}")
        console.print(policy_table(tree).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        save_fleet(tree, out)
        console.print(f"wrote {out}/fleet.nc, policies.csv, policy_table.csv, risk_growth/fleet_fan.png/pdf")
