"""The capability-index study (a spec with an ``[index]`` table): hub -> index -> index vs date ->
when the index reaches a level, and index vs compute; held-out checks of the index.

Steps (:func:`run_index_study`):

1. the long table of scores (``[data] source``: ``"epoch_benchmarks"`` is Epoch's hub through
   :func:`scaling.data.hub.load_hub`; else a long table's dataset name or CSV path), optionally cut
   to the ``top_benchmarks`` most-scored benchmarks and the models scored on ``min_benchmarks`` of
   them (a small mode for tests);
2. :func:`scaling.analysis.fit_index` with ``[index]`` anchors / likelihood / ceiling and the
   ``[sampler]`` settings;
3. theta flows on as **known measurement error** (errors-in-variables): per model the posterior
   median of theta and the sd of ``ln theta`` over its draws (``y_err``, the sd of ``ln y`` the
   positive laws take, :mod:`scaling.models.likelihoods`), so every downstream likelihood adds each
   model's own index uncertainty in quadrature to the trend's scatter. A joint fit would also carry
   the correlations between models' thetas (they share benchmark parameters); they are small
   beside the per-model sd here (the anchors fix the scale draw by draw), and the two-step route
   keeps the index fit and every trend law reusable and comparable by PSIS-LOO;
4. index vs release date: :func:`scaling.analysis.forecast` (trend shapes ``[forecast] shapes``,
   stacked) with ``[forecast] threshold`` the level whose arrival is timed;
5. index vs training compute: ``power_law`` (a negative exponent: the index grows with compute)
   on the models with a training-compute figure (``[index] compute``, default Epoch's ECI export);
6. held-out checks: leave-future-out at ``[index] lfo_cutoff`` and leave-one-benchmark-out on
   ``[index] lobo`` (benchmark names), each refit reusing the compiled sampler; coverage of the
   50/80/95% predictive intervals and CRPS (:mod:`scaling.analysis.capability_checks`).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HUB_SOURCE = "epoch_benchmarks"


def index_table(spec: dict[str, Any]) -> pd.DataFrame:
    """The long table of scores the spec names, cut as ``[index]`` asks."""
    from scaling.data.hub import load_hub, long_table

    d, ix = spec["data"], spec["index"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if d["source"] == HUB_SOURCE:
            df = load_hub()
        else:
            from scaling.data.registry import load, names

            df = long_table(load(d["source"]) if d["source"] in names() else pd.read_csv(d["source"]))
    top = ix.get("top_benchmarks")
    if top:
        keep = df["benchmark"].value_counts().index[:top]
        df = df[df["benchmark"].isin(keep)]
        n = df.groupby("model")["benchmark"].nunique()
        df = df[df["model"].map(n) >= ix.get("min_benchmarks", 3)].reset_index(drop=True)
    return df


def theta_table(fit: Any, compute: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per model: ``theta`` (posterior median), its 95% interval, ``log_sd`` (sd of ``ln theta``),
    ``date`` and, where known, ``training_flop``."""
    th = fit["posterior"]["theta"]
    q = th.quantile([0.025, 0.5, 0.975], dim=("chain", "draw")).values
    draws = np.asarray(th.stack(s=("chain", "draw")).transpose("s", ...).values)
    log_sd = np.log(np.clip(draws, 1e-9, None)).std(axis=0)
    out = pd.DataFrame({"model": th["model"].values, "theta": q[1], "theta_lo": q[0], "theta_hi": q[2],
                        "log_sd": np.maximum(log_sd, 1e-6), "date": fit["constant_data"]["date"].values})  # fmt: skip
    if compute is not None:
        flop = compute.dropna(subset=["training_flop"]).drop_duplicates("model_version")
        out = out.merge(flop[["model_version", "training_flop"]], left_on="model", right_on="model_version", how="left")
        out = out.drop(columns="model_version")
    return out


def run_index_study(spec: dict[str, Any], clean: dict[str, Any], sid: str, tmp: Path) -> None:
    """Run the study into ``tmp`` (see the module docstring); writes the runner's standard outputs."""
    from scaling import io, plots
    from scaling.analysis.capability import compare_eci, fit_index
    from scaling.studies import report
    from scaling.studies.capability_sections import checks_section, compute_section, date_section

    ix, s = spec["index"], spec.get("sampler", {})
    sampler = {k: s[k] for k in ("num_warmup", "num_samples", "num_chains", "seed", "target_accept") if k in s}
    df = index_table(spec)
    anchors = ix.get("anchors", "eci")
    kw = dict(likelihood=ix.get("likelihood", "beta"), ceiling=ix.get("ceiling", False), gate="off", **sampler)
    if anchors != "eci":
        kw["anchors"] = None if anchors == "none" else [tuple(a) for a in anchors]
    fit = fit_index(df, **kw)
    fit.attrs["spec_file"] = json.dumps(clean, default=str)
    diag = json.loads(fit.attrs["diagnostics"])
    io.save(fit, tmp / "fit.nc")
    table = plots.benchmark_table(fit)
    table.to_csv(tmp / "summary.csv")
    (tmp / "diagnostics.json").write_text(json.dumps(diag, indent=2))
    curves = plots.plot_benchmark_curves(fit)
    plots.save_figure(curves, tmp / "fit", formats=("png", "pdf"))
    dates_fig = plots.plot_capability_dates(fit)
    plots.save_figure(dates_fig, tmp / "capability_dates", formats=("png", "pdf"))
    dropped = df.attrs.get("dropped")
    notes = [] if dropped is None else [f"{n} rows left out: {r}" for r, n in dropped["reason"].value_counts().items()]
    sections = [
        (
            "Data",
            report.paragraph(
                f"{len(df)} scores of {df['model'].nunique()} models on "
                f"{df['benchmark'].nunique()} benchmarks from {spec['data']['source']}."
            )
            + report.bullets(notes[:12]),
        ),  # fmt: skip
        (
            "Fit",
            report.paragraph(
                f"Capability index (3PL, {kw['likelihood']} likelihood), {fit['posterior'].sizes['chain']} chains x "
                f"{fit['posterior'].sizes['draw']} draws; theta in {'ECI' if anchors == 'eci' else 'index'} units."
            )
            + report.figure_tag(curves, "benchmark-characteristic curves with the data")
            + report.figure_tag(dates_fig, "theta per model (median, 95% interval) against release date")
            + report.table_html(table.round(3)),
        ),  # fmt: skip
        (
            "Diagnostics gate",
            f"<p class='{diag['status']}'><b>{diag['status'].upper()}</b></p>"
            + report.bullets(diag.get("reasons", [])),
        ),  # fmt: skip
    ]
    if anchors == "eci" and spec["data"]["source"] == HUB_SOURCE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cmp = compare_eci(fit)
        cmp.to_csv(tmp / "eci_comparison.csv", index=False)
        a = cmp.attrs
        sections.append(("Agreement with the ECI", report.paragraph(
            f"{a['n']} models with a published ECI: Spearman {a['spearman']:.3f}, Pearson {a['pearson']:.3f}; "
            f"ECI = {a['slope']:.3f} x median + {a['intercept']:.1f}. Largest differences:")
            + report.table_html(cmp.head(10).round(2), False)))  # fmt: skip
    from scaling.data.registry import load

    thetas = theta_table(fit, load(ix.get("compute", HUB_SOURCE)) if ix.get("compute", HUB_SOURCE) else None)
    thetas.to_csv(tmp / "theta.csv", index=False)
    sections.append(date_section(spec, thetas, sampler, tmp))
    if "training_flop" in thetas:
        sections.append(compute_section(thetas, sampler, tmp))
    sections.append(checks_section(spec, df, kw, tmp))
    sections.append(_appendix(fit, tmp))
    sections.append(("Provenance", report.paragraph(f"spec id {sid}; data sha256 {fit.attrs['data_sha256']}; "
                                                    f"created {fit.attrs['created_at']}")
                     + f"<pre>{report.html.escape(json.dumps(clean, indent=2, default=str))}</pre>"))  # fmt: skip
    (tmp / "report.html").write_text(report.render(spec.get("title", "Capability index"), sections))
    (tmp / "spec.json").write_text(json.dumps({"spec_id": sid, "spec": clean}, indent=2, default=str))


def _appendix(fit: Any, tmp: Path) -> tuple[str, str]:
    """Trace and rank plots of the index's hyperparameters."""
    from scaling import plots
    from scaling.analysis.capability import HYPER
    from scaling.studies import report

    names = [v for v in HYPER if v in fit["posterior"]]
    trace, rank = plots.plot_trace(fit, names), plots.plot_rank(fit, names)
    plots.save_figure(trace, tmp / "trace", formats=("png", "pdf"))
    plots.save_figure(rank, tmp / "rank", formats=("png", "pdf"))
    body = report.paragraph(
        "Trace and rank plots of the index's population hyperparameters (theta's standard-normal scale); "
        "R-hat and ESS of every theta, a, b, c and phi are in the diagnostics gate above."
    )
    return "Appendix: sampler diagnostics", body + report.figure_tag(trace, "trace") + report.figure_tag(rank, "rank")
