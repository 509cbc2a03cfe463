"""Command-line interface: a thin layer over library calls.

Exit codes: 0 ok; 2 invalid input (the message names file, row and column).
Heavy libraries (JAX, numpyro, ArviZ) are imported inside commands only.
"""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Bayesian scaling-law fits on CPU or GPU.", no_args_is_help=True, add_completion=False)
console = Console(width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@app.callback()
def _setup() -> None:
    """Bayesian scaling-law fits on CPU or GPU."""
    from .runtime import enable_compilation_cache, use_all_cpu_cores

    use_all_cpu_cores()
    enable_compilation_cache()


def columns(text: str) -> list[str]:
    """``"params_N, tokens_D"`` -> ``["params_N", "tokens_D"]``."""
    return [c.strip() for c in text.split(",")]


@contextmanager
def user_errors():
    """Turn invalid-input errors (bad data: :class:`scaling.data.DataError`, bad arguments) into one
    message and exit code 2."""
    try:
        yield
    except ValueError as e:  # DataError is a ValueError
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


#: ``--device`` of the fitting commands (validated by the library: see :func:`scaling.devices.platform`).
DeviceOption = Annotated[
    str, typer.Option(help="auto (small fits on the CPU, large batches on a GPU when there is one), cpu, accelerator.")
]

_PRIOR = re.compile(r"^\s*(\w+)\s*=\s*(\w+)\s*\((.*)\)\s*$")


def parse_prior(text: str) -> tuple[str, Any]:
    """``"alpha=Normal(loc=0.3, scale=0.1)"`` -> ``("alpha", Prior("Normal", loc=0.3, scale=0.1))``."""
    from .priors import Prior

    m = _PRIOR.match(text)
    if not m:
        raise ValueError(
            f"Cannot read prior {text!r}; write it as NAME=Dist(arg=value, ...), e.g. alpha=HalfNormal(scale=1)."
        )
    name, dist, args = m.groups()
    kwargs = {}
    for part in filter(None, (a.strip() for a in args.split(","))):
        key, _, value = part.partition("=")
        try:
            kwargs[key.strip()] = float(value)
        except ValueError:
            raise ValueError(f"Prior {text!r}: argument {part!r} must be key=number.") from None
    return name, Prior(dist, **kwargs)


def parse_option(text: str) -> tuple[str, Any]:
    """``"floor=0.25"`` -> ``("floor", 0.25)``; true/false/none are understood."""
    key, sep, value = text.partition("=")
    if not sep:
        raise ValueError(f"Cannot read law option {text!r}; write it as key=value, e.g. floor=0.25.")
    low = value.strip().lower()
    if low in ("true", "false"):
        return key.strip(), low == "true"
    if low in ("none", ""):
        return key.strip(), None
    try:
        return key.strip(), float(value)
    except ValueError:
        return key.strip(), value.strip()


def print_summary(table, title: str) -> None:
    t = Table(title=title, title_style="bold")
    cols = [c for c in table.columns if c in ("mean", "sd", "r_hat", "ess_bulk", "ess_tail") or c.startswith("eti")]
    t.add_column("parameter", no_wrap=True)
    for c in cols:
        t.add_column(_header(c), justify="right", no_wrap=True)
    for name, row in table.iterrows():
        t.add_row(str(name), *(f"{row[c]:.4g}" for c in cols))
    console.print(t)


def _header(col: str) -> str:
    """``eti94_lb`` -> ``3%``, ``eti94_ub`` -> ``97%``; other names unchanged."""
    m = re.match(r"eti(\d+)_(lb|ub)", col)
    if not m:
        return col
    tail = (100 - int(m.group(1))) / 2
    return f"{tail:g}%" if m.group(2) == "lb" else f"{100 - tail:g}%"


@app.command()
def fit(
    data: Annotated[str, typer.Argument(help="CSV file, or a dataset name from `scaling datasets list`.")],
    law: Annotated[str, typer.Option(help="Law name; see `scaling laws`.")],
    x: Annotated[str, typer.Option(help="Input column(s), comma-separated in the law's input order.")],
    y: Annotated[str, typer.Option(help="Observed column.")],
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results"),
    likelihood: Annotated[str | None, typer.Option(help="lognormal, studentt, normal, beta, binomial.")] = None,
    n_trials: Annotated[str | None, typer.Option(help="Item-count column (binomial).")] = None,
    option: Annotated[list[str] | None, typer.Option(help="Law option key=value, e.g. floor=0.25.")] = None,
    prior: Annotated[list[str] | None, typer.Option(help="Prior override, e.g. 'alpha=HalfNormal(scale=1)'.")] = None,
    chains: int = 4,
    warmup: int = 1000,
    samples: int = 1000,
    seed: int = 0,
    dropna: Annotated[bool, typer.Option(help="Exclude rows with missing values (reported).")] = False,
    where: Annotated[
        str | None, typer.Option(help="Row filter, e.g. 'frontier == 1' (excluded rows reported).")
    ] = None,
    extend: Annotated[float, typer.Option(help="Extrapolate the plot this many decades/years.")] = 0.0,
    method: Annotated[
        str, typer.Option(help="nuts (Bayesian posterior) or point (Huber loss + L-BFGS, multi-start).")
    ] = "nuts",
    bootstrap: Annotated[int, typer.Option(help="Bootstrap replicates for --method point.")] = 0,
    figure: Annotated[str, typer.Option(help="Figure formats, comma-separated (png, pdf, svg), or 'none'.")] = "png",
    device: DeviceOption = "auto",
) -> None:
    """Fit a law; write fit.nc, summary.csv, diagnostics.json (NUTS only) and the figure fit.png to OUT.

    ``--method point`` gives the literature's point fit (summed Huber loss, L-BFGS from
    many starts, ``--bootstrap N`` resampled replicates) instead of a posterior.
    """
    with user_errors():
        if method not in ("nuts", "point"):
            raise typer.BadParameter(f"--method must be 'nuts' or 'point'; got {method!r}.")
        if bootstrap < 0 or (bootstrap and method != "point"):
            raise typer.BadParameter("--bootstrap takes a count >= 0 and needs --method point.")
        formats = () if figure.strip().lower() == "none" else columns(figure.lower())
        if not set(formats) <= {"png", "pdf", "svg"}:
            raise typer.BadParameter(f"--figure takes png, pdf, svg (comma-separated) or 'none'; got {figure!r}.")
        priors = dict(parse_prior(p) for p in prior or [])
        options = dict(parse_option(o) for o in option or [])
    import warnings

    from . import io, plots, tables
    from .data import describe_exclusions

    with user_errors():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            common = {"x": columns(x), "y": y, "priors": priors, "law_options": options, "dropna": dropna}
            common |= {"where": where, "seed": seed, "device": device}
            if method == "point":
                from .point import fit_point

                dt = fit_point(data, law, n_bootstrap=bootstrap, **common)
            else:
                from .inference import fit as fit_nuts

                dt = fit_nuts(
                    data,
                    law,
                    likelihood=likelihood,
                    n_trials=n_trials,
                    num_warmup=warmup,
                    num_samples=samples,
                    num_chains=chains,
                    progress=None,
                    **common,
                )
        for w in caught:
            if issubclass(w.category, UserWarning):
                err.print(f"[yellow]warning:[/] {w.message}")
    excluded = json.loads(dt.attrs["excluded_rows"])
    if excluded:
        err.print(describe_exclusions(excluded))
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "fit.nc", out / "summary.csv"]
    if method == "point":
        import pandas as pd

        best = dt["point_estimate"].to_dataset()
        table = pd.DataFrame({"best": {k: float(v) for k, v in best.data_vars.items()}})
        if bootstrap:
            table = table.join(tables.summary(dt))
        print_summary(
            table.rename(columns={"best": "mean"}),
            f"{dt.attrs['law']} point fit (Huber) on {Path(data).name}"
            + (f": best fit, bootstrap mean/sd of {bootstrap} replicates" if bootstrap else ": best fit"),
        )
    else:
        table = tables.summary(dt)
        print_summary(
            table,
            f"{dt.attrs['law']} ({dt.attrs['likelihood']}) on {Path(data).name}: "
            f"{dt.posterior.sizes['chain']} chains x {dt.posterior.sizes['draw']} draws",
        )
        from .diagnostics import diagnose

        diagnosis = diagnose(dt)
        print_diagnosis(diagnosis)
        io.atomic_write(
            out / "diagnostics.json", lambda tmp: tmp.write_text(json.dumps(diagnosis.to_dict(), indent=2))
        )
        written.append(out / "diagnostics.json")
    io.save(dt, out / "fit.nc")
    io.atomic_write(out / "summary.csv", lambda tmp: table.to_csv(tmp, index_label="parameter"))
    if formats:
        written += plots.save_figure(plots.plot_fit(dt, extend=extend), out / "fit", formats=formats)
    console.print(f"wrote {', '.join(str(w) for w in written)}")


@app.command("fit-many")
def fit_many_cmd(
    spec: Annotated[Path, typer.Argument(help="A fit spec whose [data] by names the column that splits the problems.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the spec's [outputs] dir).")] = None,
    backend: Annotated[str, typer.Option(help="local (this process, every local device) or ray.")] = "local",
    address: Annotated[str | None, typer.Option(help="Ray cluster address (default: a local Ray instance).")] = None,
    chunk_size: Annotated[
        int | None, typer.Option(help="Problems per chunk (default: about 1/8 of them, <= 256).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue a killed job in OUT without refitting its saved chunks.")
    ] = False,
    retries: Annotated[int, typer.Option(help="Retries of a failing chunk before it is reported.")] = 1,
    device: DeviceOption = "auto",
) -> None:
    """Fit one law to every group of a table (survey scale): chunks saved as they finish, resumable."""
    with user_errors():
        from .data import as_frame
        from .inference import fit_many
        from .spec import fit_kwargs, load_spec

        s = load_spec(spec)
        d, m = s["data"], s["model"]
        if "by" not in d:
            raise typer.BadParameter(f"{spec}: [data] needs 'by', the column whose values are the problems.")
        df = as_frame(d["source"])
        if d["by"] not in df.columns:
            raise typer.BadParameter(f"{spec}: [data] by: no column {d['by']!r}; columns: {', '.join(df.columns)}.")
        groups = {str(k): g.reset_index(drop=True) for k, g in df.groupby(d["by"], sort=False)}
        folder = Path(out or s.get("outputs", {}).get("dir", f"results/{spec.stem}"))
        tree = fit_many(
            groups,
            m["law"],
            backend=backend,
            address=address,
            chunk_size=chunk_size,
            out_dir=folder,
            resume=resume,
            retries=retries,
            device=device,
            **fit_kwargs(s),
        )
    failed = json.loads(tree.attrs["failed"])
    for f in failed:
        err.print(f"[red]failed:[/] {', '.join(f['problems'][:5])}: {f['error']}")
    console.print(
        f"{tree.posterior.sizes['problem']} of {len(groups)} problems fitted; results in {folder}/fit.nc "
        f"(chunks in {folder}/chunks/)"
    )
    if failed:
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    spec: Annotated[Path, typer.Argument(help="A fit spec, e.g. fits/metr_doubling.toml.")],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the spec's [outputs] dir).")] = None,
    force: Annotated[bool, typer.Option(help="Refit even if finished results for this spec exist.")] = False,
) -> None:
    """Run a study from its spec: fit, diagnostics, comparison, returns, forecast, plan, report.html."""
    from .studies import run_spec

    with user_errors():
        folder = run_spec(spec, out=out, force=force)
    import pandas as pd

    print_summary(pd.read_csv(folder / "summary.csv", index_col="parameter"), f"{spec.stem}: posterior summary")
    diagnosis = json.loads((folder / "diagnostics.json").read_text())
    console.print(f"diagnostics: {diagnosis['status'].upper()}")
    if (folder / "returns.json").exists():
        console.print(json.loads((folder / "returns.json").read_text())["text"])
    if (folder / "plan_summary.csv").exists():
        console.print("[bold]compute plan[/]")
        plan = pd.read_csv(folder / "plan_summary.csv")
        console.print(plan.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    console.print(f"results in {folder}/ (open {folder / 'report.html'} in a browser)")


@app.command()
def laws() -> None:
    """List the laws with their formulas, inputs and parameters."""
    from .laws import LAWS

    t = Table(title="laws")
    for c in ("name", "formula", "inputs", "parameters (default prior)"):
        t.add_column(c)
    for name, factory in LAWS.items():
        law = factory()
        t.add_row(
            name,
            law.formula,
            ", ".join(f"{i.name} ({i.transform})" for i in law.inputs),
            "\n".join(f"{p.name} ~ {p.prior}" for p in law.params),
        )
    console.print(t)


def print_diagnosis(d) -> None:
    colour = {"pass": "green", "warn": "yellow", "fail": "red"}[d.status]
    console.print(f"diagnostics: [{colour}]{d.status.upper()}[/]")
    for r in d.reasons[:10]:
        console.print(f"  - {r}")
    if len(d.reasons) > 10:
        console.print(f"  ... and {len(d.reasons) - 10} more")


def _load_fit(path: Path):
    from . import io

    try:
        return io.load(path)
    except (FileNotFoundError, ValueError, OSError) as e:
        err.print(f"[red]error:[/] {e}")
        raise typer.Exit(2) from None


@app.command()
def check(fit_path: Annotated[Path, typer.Argument(help="A fit.nc written by `scaling fit`.")]) -> None:
    """Run the diagnostics gate (R-hat, ESS, divergences, E-BFMI, tree depth) on a saved fit.

    Exit code 1 when the gate fails.
    """
    from .diagnostics import diagnose

    d = diagnose(_load_fit(fit_path))
    print_diagnosis(d)
    if len(d.table):
        console.print(d.table.to_string(float_format=lambda v: f"{v:.4g}"))
    if d.status == "fail":
        raise typer.Exit(1)


@app.command()
def compare(
    fits: Annotated[list[Path], typer.Argument(help="Two or more fit.nc files of different laws on the same data.")],
) -> None:
    """Compare saved fits by PSIS-LOO: elpd differences, stacking weights, high Pareto-k points."""
    from .comparison import compare as compare_fits

    loaded = {}
    for path in fits:
        dt = _load_fit(path)
        name = dt.attrs.get("law", path.stem)
        loaded[name if name not in loaded else f"{name} ({path})"] = dt
    with user_errors():
        result = compare_fits(loaded)
    console.print(str(result))
    for name, table in result.high_k.items():
        console.print(f"high Pareto k in {name}:")
        console.print(table.to_string(index=False))


@app.command("returns")
def returns_cmd(
    fit_path: Annotated[Path, typer.Argument(help="A fit.nc of a law that lets returns change.")],
    baseline: Annotated[Path | None, typer.Option(help="fit.nc of a constant-returns law on the same data.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the fit with its 'derived' group here.")] = None,
    prob: float = 0.9,
    rope: float = 0.1,
) -> None:
    """Are returns diminishing? Posterior marginal returns along compute, and the verdict."""
    from . import io
    from .diminishing import returns

    fit = _load_fit(fit_path)
    base = _load_fit(baseline) if baseline else None
    with user_errors():
        dt, verdict = returns(fit, baseline=base, prob=prob, rope=rope)
    console.print(verdict.text)
    if "derived" in dt.children:
        der = dt["derived"].to_dataset()
        t = Table(title="posterior medians along compute (94% interval)")
        t.add_column("x")
        names = [v for v in ("marginal_return", "elasticity", "growth_rate", "elasticity_reducible") if v in der]
        for v in names:
            t.add_column(v, justify="right")
        dims = [d for d in der["mu"].dims if d != "grid"]
        for i in np.unique(np.linspace(0, der.sizes["grid"] - 1, 6).astype(int)):
            row = [f"{float(der['x'][i]):.3g}"]
            for v in names:
                q = np.quantile(der[v].isel(grid=i).values.reshape(-1), [0.03, 0.5, 0.97]) if dims else [0, 0, 0]
                row.append(f"{q[1]:.3g} [{q[0]:.3g}, {q[2]:.3g}]")
            t.add_row(*row)
        console.print(t)
        if out:
            io.save(dt, out)
            console.print(f"wrote {out}")
    if verdict.category == "unreliable":
        raise typer.Exit(1)


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
    from . import io
    from .backtesting import backtest

    if not cutoff:
        err.print("[red]error:[/] give at least one --cutoff (in the split column's units, e.g. 8.4e22 FLOP).")
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
        out.mkdir(parents=True, exist_ok=True)
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
    from . import io, plots
    from .forecasting import forecast

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
            fit_kwargs={"progress": None},
            seed=seed,
        )
    console.print("[bold]assumptions[/]")
    for a in fc.assumptions:
        console.print(f"  - {a}")
    table = fc.quantile_table()
    console.print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    out.mkdir(parents=True, exist_ok=True)
    io.atomic_write(out / "forecast_quantiles.csv", lambda tmp: table.to_csv(tmp, index=False))
    io.atomic_write(out / "assumptions.txt", lambda tmp: tmp.write_text("\n".join(fc.assumptions) + "\n"))
    if fc.crossing is not None:
        console.print(
            f"[bold]when does the trend reach {threshold:g}?[/] P(not by {fc.crossing.horizon:.0f}) = "
            f"{fc.crossing.p_never:.2f}"
        )
        console.print(fc.crossing.table.to_string(index=False))
        io.atomic_write(out / "crossing_quantiles.csv", lambda tmp: fc.crossing.table.to_csv(tmp, index=False))
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
    gross_margin: Annotated[float, typer.Option(help="Gross margin in (0, 1].")] = 0.8,
    compute_share: Annotated[float, typer.Option(help="Compute's share of the cost of revenue, (0, 1].")] = 1.0,
    amortisation_years: Annotated[float, typer.Option(help="Straight-line amortisation period.")] = 5.0,
    efficiency_gain: Annotated[float, typer.Option(help="Price-performance gain per year (chip depreciation).")] = 1.4,
    percentile: Annotated[float, typer.Option(help="Revenue percentile that must still pay, in (0, 100).")] = 10.0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("results/plan"),
    seed: int = 0,
) -> None:
    """Revenue cone from the capability forecast, and how much compute one can commit to."""
    from .economics import run_plan

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
        )
    console.print("[bold]assumptions[/]")
    for a in r.assumptions:
        console.print(f"  - {a}")
    console.print("[bold]revenue cone ($B per year)[/]")
    console.print((r.cone.set_index("year") / 1e9).round(2).to_string())
    console.print("[bold]compute plan[/]")
    console.print(r.plan.summary.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    console.print("[bold]model-as-a-company P&L[/]")
    console.print(r.pnl.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    from .economics import save_plan

    save_plan(r, out)
    console.print(
        f"wrote {out}/plan.nc, cone.csv, plan_summary.csv, can_pay_curve.csv, pnl.csv, cone/can_pay/pnl.png/pdf"
    )


datasets_app = typer.Typer(help="Shipped tables and the registry of public datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("list")
def datasets_list() -> None:
    """List registered datasets and whether each is available locally."""
    from .datasets import catalogue

    t = Table(title="datasets (scaling.datasets.load(name))")
    for c in ("name", "title", "where", "licence"):
        t.add_column(c)
    for _, row in catalogue().iterrows():
        where = "shipped" if row["shipped"] else ("data folder" if row["available"] else "[red]missing[/]")
        t.add_row(row["name"], row["title"], where, row["licence"])
    console.print(t)


@datasets_app.command("show")
def datasets_show(name: str, rows: int = 5) -> None:
    """Show a dataset's source, licence, citation, columns (with units) and first rows."""
    from .datasets import SCHEMA, info, load

    with user_errors():
        entry = info(name)
        df = load(name)
    console.print(f"[bold]{name}[/]: {entry.get('title', '')}")
    for key in ("homepage", "licence", "citation", "notes"):
        if entry.get(key):
            console.print(f"  {key}: {entry[key]}")
    console.print(f"  file: {df.attrs['source']} ({len(df)} rows)")
    for fix in df.attrs.get("corrections", []):
        console.print(f"  correction: {fix}")
    t = Table(title="columns")
    for c in ("column", "unit", "meaning", "non-missing"):
        t.add_column(c)
    for col in df.columns:
        kind, unit, meaning = SCHEMA.get(col, ("", "", "(source column, unmapped)"))
        t.add_row(col, unit, meaning, str(int(df[col].notna().sum())))
    console.print(t)
    console.print(df.head(rows).to_string(max_colwidth=30))


def main() -> None:
    """Console entry point (``scaling``)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
