"""Run a fit spec end to end: ``scaling run fits/NAME.toml``.

Outputs are built in a staging folder beside the output folder and swapped in
at the end with one atomic exchange (:func:`scaling.io.replace_dir`), so a kill at
any instant leaves the previous results or the new ones, never a half-written
folder or none. The output folder must be new, empty or an earlier results folder
(:func:`scaling.io.check_output_dir`); runs of the same output folder are serialised
by a lock. A finished output folder whose spec id and data hash
match (the spec's content and the data file's sha256) is reused unless ``force=True``.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path
from typing import Any

from scaling import io
from scaling.errors import DataError, SpecError
from scaling.provenance import canonical_json, spec_id
from scaling.studies.plan_outputs import _plan_study
from scaling.studies.spec import fit_arguments, load_spec, sampler_of, seed_of


def _source_hash(source: str) -> str:
    """sha256 of the data file behind a dataset name or path (so changed data is refitted)."""
    from scaling.data import registry as datasets

    path = datasets.locate(source) if source in datasets.names() else Path(source)
    return datasets.sha256_file(path)


def run_spec(
    path: str | Path,
    *,
    out: str | Path | None = None,
    force: bool = False,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Run the study a spec describes and write its outputs; returns the output folder.

    Writes ``fit.nc``, ``summary.csv``, ``diagnostics.json``, ``fit.png``/``fit.pdf``,
    ``spec.json``, and, as the spec asks, ``comparison.csv``, ``returns.json``,
    ``forecast_quantiles.csv``, ``crossing_quantiles.csv``, ``fan.png``, the ``[plan]`` outputs
    (see :func:`_plan_study`); the figures ``comparison.png``/``.pdf`` (with ``[compare]``, when
    the comparison is reliable), ``elasticity.png``/``.pdf`` (with ``[returns]``, unless the verdict
    is unreliable), ``trace.png``/``.pdf`` and ``rank.png``/``.pdf`` (the appendix's sampler
    diagnostics); and ``report.html``.
    """
    out_given = out is not None
    spec = load_spec(path, overrides)
    if "by" in spec["data"]:
        raise SpecError(
            f"{spec['_path']}: [data] by splits the data into many problems; run it with `scaling fit-many`."
        )
    clean = {k: v for k, v in spec.items() if not k.startswith("_")}
    hashes = {"data_sha256": _source_hash(spec["data"]["source"])}
    if "plan" in spec:
        hashes["revenue_sha256"] = _source_hash(spec["plan"]["revenue"])
    sid = spec_id({"spec": clean, **hashes})
    out = Path(out or spec.get("outputs", {}).get("dir", f"results/{Path(path).stem}"))
    option = "--out" if out_given else f"{spec['_path']}: [outputs] dir"
    if out.is_symlink() and out.is_dir():
        out = out.resolve()  # a link to a results folder elsewhere: the swap happens there, the link stays
    if out.resolve() == Path.cwd().resolve() or not out.resolve().name:
        raise SpecError(f"{option} {str(out)!r}: name a results folder (e.g. results/{Path(path).stem}), not this one.")
    io.check_output_dir(out, option)  # before the lock: never create anything beside a refused path
    with io.output_lock(out):
        io.recover(out)
        io.check_output_dir(out, option)
        io.clean_staging(out)  # left by a run that was killed (we hold the lock: no run is using them)
        done = out / "spec.json"
        if done.exists() and not force:
            previous = json.loads(done.read_text())
            if previous.get("spec_id") == sid:
                return out
        tmp = io.staging_dir(out, "study", spec_id=sid)
        try:
            try:
                _run_into(spec, clean, sid, tmp)
            except SpecError:
                raise
            except DataError as e:
                raise SpecError(f"{spec['_path']}: [data]/[model]: {e}") from None
            io.replace_dir(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return out


def _run_into(spec: dict[str, Any], clean: dict[str, Any], sid: str, tmp: Path) -> None:
    from scaling import io, plots
    from scaling.analysis.diagnostics import diagnose
    from scaling.analysis.tables import summary
    from scaling.infer.bayes import fit
    from scaling.studies import report

    if "index" in spec:
        from scaling.studies.capability_study import run_index_study

        return run_index_study(spec, clean, sid, tmp)
    d, m = spec["data"], spec["model"]
    s = {"sampler": sampler_of(spec), "seed": seed_of(spec)}
    common = {"where": d.get("where"), "dropna": d.get("dropna", False), "units": d.get("units")}
    # the data's measurement errors and censoring hold for every law compared (pooling and date are the model's)
    common |= {k: m[k] for k in ("y_err", "y_low", "y_high", "level", "censored") if k in m}
    main = fit(d["source"], m["law"], **fit_arguments(spec))
    main.attrs["spec_file"] = canonical_json(clean)
    table = summary(main)
    gate = diagnose(main)
    io.save(main, tmp / "fit.nc")
    table.to_csv(tmp / "summary.csv", index_label="parameter")
    (tmp / "diagnostics.json").write_text(json.dumps(gate.to_dict(), indent=2))
    fig = plots.plot_fit(main, extend=float(spec.get("outputs", {}).get("extend", 0.0)))
    fig.savefig(tmp / "fit.png", dpi=200)
    fig.savefig(tmp / "fit.pdf")
    title = spec.get("title", f"{m['law']} fit of {m['y']}")
    notes = data_notes(main)
    sections = [
        (
            "Data",
            report.paragraph(
                f"{int(main.constant_data['n_points'])} rows of {m['y']} against "
                f"{', '.join(m['x'])} from {d['source']}" + (f", where {d['where']}" if d.get("where") else "") + "."
            )
            + (report.bullets(notes) if notes else ""),
        ),
        (
            "Fit",
            report.paragraph(
                f"{main.attrs['law']} with a {main.attrs['likelihood']} likelihood; "
                f"{main.posterior.sizes['chain']} chains x {main.posterior.sizes['draw']} draws."
            )
            + report.figure_tag(fig, "data and posterior predictive bands")
            + report.table_html(table),
        ),
        (
            "Diagnostics gate",
            f"<p class='{gate.status}'><b>{gate.status.upper()}</b></p>"
            + report.bullets(gate.reasons)
            + report.table_html(gate.table),
        ),
    ]
    fits = {m["law"]: main}
    if "compare" in spec:
        for law in spec["compare"]["laws"]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits[law] = fit(d["source"], law, x=m["x"], y=m["y"], **common, **s)
        from scaling.analysis.comparison import compare

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            comp = compare(fits)
        if comp.table is not None:
            comp.table.to_csv(tmp / "comparison.csv", index_label="law")
            cfig = plots.plot_comparison(comp)
            plots.save_figure(cfig, tmp / "comparison", formats=("png", "pdf"))
            body = (
                report.figure_tag(cfig, "PSIS-LOO comparison: elpd with standard errors and stacking weights")
                + report.table_html(comp.table)
                + report.bullets(comp.reasons)
            )
        else:
            body = report.paragraph(str(comp), "unreliable")
        sections.append(("Law comparison (PSIS-LOO)", body))
    if "returns" in spec:
        from scaling.analysis.diminishing import returns

        base_law = spec["returns"].get("baseline")
        baseline = fits.get(base_law) if base_law else None
        if base_law and baseline is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                baseline = fit(d["source"], base_law, x=m["x"], y=m["y"], **common, **s)
        kwargs = {k: spec["returns"][k] for k in ("prob", "rope") if k in spec["returns"]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            verdict = returns(main, baseline=baseline, **kwargs)
        with_returns = verdict.tree
        (tmp / "returns.json").write_text(json.dumps(verdict.to_dict(), indent=2))
        body = f"<p class='verdict'>{report.html.escape(verdict.text)}</p>"
        if verdict.category != "unreliable" and "derived" in with_returns.children:
            efig = plots.plot_elasticity(with_returns, rope=kwargs.get("rope", 0.1))
            plots.save_figure(efig, tmp / "elasticity", formats=("png", "pdf"))
            body += report.figure_tag(efig, "returns along compute (or time): posterior median and 50/80/95% bands")
        sections.append(("Are returns diminishing?", body))
    if "forecast" in spec:
        from scaling.analysis.forecasting import SHAPES, forecast

        f = spec["forecast"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fc = forecast(
                d["source"],
                x=m["x"][0],
                y=m["y"],
                where=d.get("where"),
                threshold=f.get("threshold"),
                horizon=f.get("horizon", 2030),
                direction=f.get("direction", "up"),
                shapes=f.get("shapes", SHAPES),
                **s,
                fits=fits,  # the law and [compare] shapes already fitted to the same rows are reused
            )
        qt = fc.quantile_table()
        qt.to_csv(tmp / "forecast_quantiles.csv", index=False)
        fan = plots.plot_fan(fc)
        fan.savefig(tmp / "fan.png", dpi=200)
        body = report.bullets(fc.assumptions) + report.figure_tag(fan, "fan chart") + report.table_html(qt, False)
        if fc.comparison is not None and fc.comparison.table is not None:  # the scores behind the shape weights
            body += report.paragraph(f"Shape weights: {fc.validation}.") + report.table_html(fc.comparison.table)
        body = report.forecast_answers(fc, body, tmp)
        sections.append(("Forecast", body))
    if "plan" in spec:
        sections.append(_plan_study(spec, fits, common, tmp))
    from scaling.studies.calibration import calibration_section

    sections.append(calibration_section(spec, main, tmp))
    sections.append(_appendix(main, tmp))
    sections.append(
        (
            "Provenance",
            report.paragraph(
                f"spec id {sid}; data sha256 {main.attrs['data_sha256']}; created {main.attrs['created_at']}"
            )
            + f"<pre>{report.html.escape(json.dumps(clean, indent=2, default=str))}</pre>"
            + f"<pre>{report.html.escape(main.attrs['versions'])}</pre>",
        )
    )
    (tmp / "report.html").write_text(report.render(title, sections))
    (tmp / "spec.json").write_text(json.dumps({"spec_id": sid, "spec": clean}, indent=2, default=str))


def data_notes(fit: Any) -> list[str]:
    """The notes of a report's Data section: the fit's own ``notices`` (unit conversions, duplicates)
    and its ``excluded_rows``, one line per reason (``excluded 15 row(s): not selected by
    where='frontier == 1' (rows 6, 7, ...)``). Nothing else: log lines and warnings of other
    libraries are not the data's notes."""
    from scaling.data.tables import describe_exclusions

    by_reason: dict[str, list[dict[str, Any]]] = {}
    for e in json.loads(fit.attrs.get("excluded_rows", "[]")):
        by_reason.setdefault(e["reason"], []).append(e)
    return [*json.loads(fit.attrs.get("notices", "[]")), *(describe_exclusions(rows) for rows in by_reason.values())]


def _appendix(main: Any, tmp: Path) -> tuple[str, str]:
    """Trace and rank plots of the main fit's sampled parameters; writes ``trace`` and ``rank`` png/pdf."""
    from scaling import plots
    from scaling.studies import report

    trace, rank = plots.plot_trace(main), plots.plot_rank(main)
    plots.save_figure(trace, tmp / "trace", formats=("png", "pdf"))
    plots.save_figure(rank, tmp / "rank", formats=("png", "pdf"))
    body = (
        report.paragraph(
            "Trace plots (each chain's marginal and its draws in order) and rank plots (Vehtari et al. 2021: "
            "each chain's histogram of the ranks of all draws pooled; uniform when the chains agree) of the "
            "main fit's sampled parameters. The numbers behind them are in the diagnostics gate above."
        )
        + report.figure_tag(trace, "trace plots")
        + report.figure_tag(rank, "rank plots")
    )
    return "Appendix: sampler diagnostics", body
