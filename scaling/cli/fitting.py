"""The fitting commands: ``scaling fit``, ``fit-many``, ``run``, ``laws``, ``check``, ``compare`` and
``returns``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.table import Table
from rich.text import Text

from scaling import io
from scaling.checks import check_finite
from scaling.cli.common import (
    DeviceOption,
    _load_fit,
    app,
    columns,
    console,
    err,
    parse_option,
    parse_prior,
    print_diagnosis,
    print_summary,
    renamed_flag,
    user_errors,
)
from scaling.errors import ScalingError


@app.command()
def fit(
    data: Annotated[str, typer.Argument(help="CSV file, or a dataset name from `scaling datasets list`.")],
    law: Annotated[str, typer.Option(help="Law name; see `scaling laws`.")],
    x: Annotated[str, typer.Option(help="Input column(s), comma-separated in the law's input order.")],
    y: Annotated[str, typer.Option(help="Observed column.")],
    out: Annotated[Path, typer.Option(help="Output folder (new, empty, or earlier scaling results).")] = Path(
        "results/fit"
    ),
    likelihood: Annotated[str | None, typer.Option(help="lognormal, studentt, normal, beta, binomial.")] = None,
    trials: Annotated[str | None, typer.Option(help="Item-count column (binomial).")] = None,
    law_option: Annotated[list[str] | None, typer.Option(help="Law option key=value, e.g. floor=0.25.")] = None,
    prior: Annotated[list[str] | None, typer.Option(help="Prior override, e.g. 'alpha=HalfNormal(scale=1)'.")] = None,
    num_chains: Annotated[int | None, typer.Option(help="Chains  [default: 4]")] = None,
    num_warmup: Annotated[int | None, typer.Option(help="Warm-up steps per chain  [default: 1000]")] = None,
    num_samples: Annotated[int | None, typer.Option(help="Draws kept per chain  [default: 1000]")] = None,
    seed: int = 0,
    dropna: Annotated[bool, typer.Option(help="Exclude rows with missing values (reported).")] = False,
    where: Annotated[
        str | None, typer.Option(help="Row filter, e.g. 'frontier == 1' (excluded rows reported).")
    ] = None,
    extend: Annotated[float, typer.Option(help="Extrapolate the plot this many decades/years.")] = 0.0,
    method: Annotated[
        str, typer.Option(help="nuts (Bayesian posterior) or point (Huber loss + L-BFGS, multi-start).")
    ] = "nuts",
    num_bootstrap: Annotated[
        int | None, typer.Option(help="Bootstrap replicates for --method point.  [default: 0]")
    ] = None,
    figure: Annotated[str, typer.Option(help="Figure formats, comma-separated (png, pdf, svg), or 'none'.")] = "png",
    device: DeviceOption = "auto",
    # the flags of 0.2, hidden and deprecated: --n-trials, --option, --chains, --warmup, --samples, --bootstrap
    n_trials: Annotated[str | None, typer.Option(hidden=True)] = None,
    option: Annotated[list[str] | None, typer.Option(hidden=True)] = None,
    chains: Annotated[int | None, typer.Option(hidden=True)] = None,
    warmup: Annotated[int | None, typer.Option(hidden=True)] = None,
    samples: Annotated[int | None, typer.Option(hidden=True)] = None,
    bootstrap: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Fit a law; write fit.nc, summary.csv, diagnostics.json (NUTS only) and the figure fit.png to OUT.

    ``--method point`` gives the literature's point fit (summed Huber loss, L-BFGS from
    many starts, ``--num-bootstrap N`` resampled replicates) instead of a posterior.
    """
    with user_errors():
        trials = renamed_flag("--trials", trials, "--n-trials", n_trials, None)
        law_option = renamed_flag("--law-option", law_option, "--option", option, None)
        chains = renamed_flag("--num-chains", num_chains, "--chains", chains, 4)
        warmup = renamed_flag("--num-warmup", num_warmup, "--warmup", warmup, 1000)
        samples = renamed_flag("--num-samples", num_samples, "--samples", samples, 1000)
        bootstrap = renamed_flag("--num-bootstrap", num_bootstrap, "--bootstrap", bootstrap, 0)
        io.check_output_dir(out)
        if method not in ("nuts", "point"):
            raise typer.BadParameter(f"--method must be 'nuts' or 'point'; got {method!r}.")
        check_finite("extend", extend, "--extend", low=0)
        if bootstrap < 0 or (bootstrap and method != "point"):
            raise typer.BadParameter("--num-bootstrap takes a count >= 0 and needs --method point.")
        formats = () if figure.strip().lower() == "none" else columns(figure.lower())
        if not set(formats) <= {"png", "pdf", "svg"}:
            raise typer.BadParameter(f"--figure takes png, pdf, svg (comma-separated) or 'none'; got {figure!r}.")
        priors = dict(parse_prior(p) for p in prior or [])
        options = dict(parse_option(o) for o in law_option or [])
    import warnings

    from scaling import plots
    from scaling.analysis import tables
    from scaling.data.tables import describe_exclusions

    with user_errors():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            common = {"x": columns(x), "y": y, "priors": priors, "law_options": options, "dropna": dropna}
            common |= {"where": where, "seed": seed, "device": device}
            if method == "point":
                from scaling.infer.point import fit_point

                dt = fit_point(data, law, num_bootstrap=bootstrap, **common)
            else:
                from scaling.infer.bayes import fit as fit_nuts

                dt = fit_nuts(
                    data,
                    law,
                    likelihood=likelihood,
                    trials=trials,
                    sampler={"num_warmup": warmup, "num_samples": samples, "num_chains": chains},
                    **common,
                )
        for w in caught:
            if issubclass(w.category, UserWarning):
                err.print(Text.assemble(("warning:", "yellow"), f" {w.message}"))
    excluded = json.loads(dt.attrs["excluded_rows"])
    if excluded:
        err.print(describe_exclusions(excluded))
    with user_errors():
        io.results_dir(out, "fit")
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
        from scaling.analysis.diagnostics import diagnose

        diagnosis = diagnose(dt)
        print_diagnosis(diagnosis)
        io.atomic_write(out / "diagnostics.json", lambda tmp: tmp.write_text(json.dumps(diagnosis.to_dict(), indent=2)))
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
        from scaling.data.preparation import as_frame
        from scaling.infer.survey import fit_survey
        from scaling.studies.spec import fit_arguments, load_spec

        s = load_spec(spec)
        d, m = s["data"], s["model"]
        folder = Path(out or s.get("outputs", {}).get("dir", f"results/{spec.stem}"))
        if not (folder / "job.json").is_file():
            io.check_output_dir(folder, "--out" if out else f"{spec}: [outputs] dir")
        if "by" not in d:
            raise typer.BadParameter(f"{spec}: [data] needs 'by', the column whose values are the problems.")
        df = as_frame(d["source"])
        if d["by"] not in df.columns:
            raise typer.BadParameter(f"{spec}: [data] by: no column {d['by']!r}; columns: {', '.join(df.columns)}.")
        missing = df.index[df[d["by"]].isna()]
        if len(missing):
            raise typer.BadParameter(
                f"{spec}: [data] by: column {d['by']!r} is empty in {len(missing)} row(s) "
                f"({list(missing[:5])}{'...' if len(missing) > 5 else ''}); those rows would belong to no problem. "
                f"Fill the column, or remove those rows."
            )
        groups = {str(k): g.reset_index(drop=True) for k, g in df.groupby(d["by"], sort=False)}
        tree = fit_survey(
            groups,
            m["law"],
            backend=backend,
            address=address,
            chunk_size=chunk_size,
            out_dir=folder,
            resume=resume,
            retries=retries,
            device=device,
            **fit_arguments(s),
        )
    failed = json.loads(tree.attrs["failed"])
    for f in failed:
        err.print(Text.assemble(("failed:", "red"), f" {', '.join(f['problems'][:5])}: {f['error']}"))
    console.print(
        f"{tree.posterior.sizes['problem']} of {len(groups)} problems fitted; results in {folder}/fit.nc "
        f"(chunks in {folder}/chunks/)"
    )
    if failed:
        raise typer.Exit(1)


@app.command("run")
def run_cmd(
    spec: Annotated[
        str, typer.Argument(help="A fit spec file, e.g. fits/metr_doubling.toml, or a shipped study's name.")
    ],
    out: Annotated[Path | None, typer.Option(help="Output folder (default: the spec's [outputs] dir).")] = None,
    force: Annotated[bool, typer.Option(help="Refit even if finished results for this spec exist.")] = False,
    num_warmup: Annotated[int | None, typer.Option(help="Replace [sampler] num_warmup (e.g. quick checks).")] = None,
    num_samples: Annotated[int | None, typer.Option(help="Replace [sampler] num_samples.")] = None,
    num_chains: Annotated[int | None, typer.Option(help="Replace [sampler] num_chains.")] = None,
) -> None:
    """Run a study from its spec: fit, diagnostics, comparison, returns, forecast, plan, report.html.

    SPEC is a TOML file or the name of a study shipped with the package (metr_doubling,
    chinchilla, frontier_mmlu, revenue_plan), runnable from any folder. --num-warmup,
    --num-samples and --num-chains replace the spec's [sampler] settings; fewer draws make a
    quick smoke run, not a result to report (the saved spec records the settings used).
    """
    from scaling.studies.runner import run_spec

    given = {"num_warmup": num_warmup, "num_samples": num_samples, "num_chains": num_chains}
    sampler = {k: v for k, v in given.items() if v is not None}
    with user_errors():
        folder = run_spec(spec, out=out, force=force, overrides={"sampler": sampler} if sampler else None)
    import pandas as pd

    name = Path(spec).name.removesuffix(".toml")
    print_summary(pd.read_csv(folder / "summary.csv", index_col="parameter"), f"{name}: posterior summary")
    diagnosis = json.loads((folder / "diagnostics.json").read_text())
    console.print(f"diagnostics: {diagnosis['status'].upper()}")
    if (folder / "returns.json").exists():
        console.print(json.loads((folder / "returns.json").read_text())["text"])
    if (folder / "plan_summary.csv").exists():
        console.print("compute plan", style="bold")
        plan = pd.read_csv(folder / "plan_summary.csv")
        console.print(plan.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    console.print(f"results in {folder}/ (open {folder / 'report.html'} in a browser)")


@app.command()
def laws() -> None:
    """List the laws with their formulas, inputs and parameters."""
    from scaling.models.laws import LAWS

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


@app.command()
def check(fit_path: Annotated[Path, typer.Argument(help="A fit.nc written by `scaling fit`.")]) -> None:
    """Run the diagnostics gate (R-hat, ESS, divergences, E-BFMI, tree depth) on a saved fit.

    Exit code 1 when the gate fails.
    """
    from scaling.analysis.diagnostics import diagnose

    fit = _load_fit(fit_path)
    with user_errors():
        d = diagnose(fit)
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
    from scaling.analysis.comparison import compare as compare_fits

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
    if result.table is None:  # unreliable: no ranking to act on
        raise typer.Exit(1)


@app.command("returns")
def returns_cmd(
    fit_path: Annotated[Path, typer.Argument(help="A fit.nc of a law that lets returns change.")],
    baseline: Annotated[Path | None, typer.Option(help="fit.nc of a constant-returns law on the same data.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the fit with its 'derived' group here.")] = None,
    prob: float = 0.9,
    rope: float = 0.1,
) -> None:
    """Are returns diminishing? Posterior marginal returns along compute, and the verdict."""
    from scaling.analysis.diminishing import returns

    with user_errors():
        if out is not None and (out.is_dir() or str(out).endswith(("/", "\\"))):
            out = io.results_dir(out, "returns") / "fit.nc"  # a folder: the fit with returns goes inside
        elif out is not None and out.exists() and not out.is_file():
            raise ScalingError(f"--out {str(out)!r} is not a file or a folder; choose a file name ending .nc.")
    fit = _load_fit(fit_path)
    base = _load_fit(baseline) if baseline else None
    with user_errors():
        verdict = returns(fit, baseline=base, prob=prob, rope=rope)
        dt = verdict.tree
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
            with user_errors():
                io.save(dt, out)
            console.print(f"wrote {out}")
    if verdict.category == "unreliable":
        raise typer.Exit(1)
