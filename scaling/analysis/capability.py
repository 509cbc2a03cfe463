"""Fitting the capability index (:mod:`scaling.models.irt`) and reading it.

:func:`fit_index` runs NUTS on a long table of scores (``model, benchmark, score`` and the optional
``n_items, stderr, floor, date``; :func:`scaling.data.hub.load_hub` builds it from Epoch's hub) and
returns an :class:`xarray.DataTree`: ``posterior`` with ``theta (chain, draw, model)``, ``a, b, c,
phi (chain, draw, benchmark)`` and the population hyperparameters; ``sample_stats``;
``observed_data`` (``y (point)``) and ``constant_data`` (each point's model, benchmark, stderr,
n_items, mask). Root attrs carry the spec (JSON), its id, the data hash, versions, seed and the
diagnostics verdict (:func:`index_diagnosis`, the :func:`scaling.diagnose` rules applied per model
and per benchmark). :func:`predict_scores` draws posterior-predictive scores for any (model,
benchmark) pair of the fit; :func:`compare_eci` sets the index against Epoch's published ECI.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from scaling.analysis.diagnostics import Diagnosis, diagnose
from scaling.data.hub import long_table
from scaling.errors import DataError, ScalingError
from scaling.models.irt import (
    ECI_ANCHORS,
    LIKELIHOODS,
    IndexData,
    IndexSpec,
    anchor_draws,
    centred_benchmarks,
    prepare,
)  # fmt: skip
from scaling.provenance import canonical_json, spec_id, versions

__all__ = ["compare_eci", "fit_index", "index_diagnosis", "predict_scores"]

HYPER = ("b_mu", "b_sd", "log_a_mu", "log_a_sd", "log_phi_mu", "log_phi_sd")  # on the sampler's scale
KEEP = ("c", "d", "phi", *HYPER)


def _arrays(df: pd.DataFrame, holdout: np.ndarray | None) -> tuple[list[str], list[str], IndexData]:
    models = sorted(df["model"].astype(str).unique())
    benches = sorted(df["benchmark"].astype(str).unique())
    mi = pd.Index(models).get_indexer(df["model"].astype(str))
    bi = pd.Index(benches).get_indexer(df["benchmark"].astype(str))
    floors = df.groupby("benchmark")["floor"].agg(lambda s: s.iloc[0]).reindex(benches).to_numpy(float)
    n = df["n_items"].to_numpy(float)
    eps = np.where(np.isfinite(n), 0.5 / np.where(np.isfinite(n), n, 1.0), 0.005)
    y = np.clip(df["score"].to_numpy(float), eps, 1 - eps)  # 0 and 1 -> half an item (beta support)
    mask = np.ones(len(df)) if holdout is None else (~np.asarray(holdout, bool)).astype(float)
    centred, scale_set = centred_benchmarks(bi, mask, len(benches))
    data = IndexData(
        mi.astype(np.int32), bi.astype(np.int32), y.astype(np.float32),
        np.nan_to_num(df["stderr"].to_numpy(float)).astype(np.float32),
        np.nan_to_num(n, nan=1.0).astype(np.float32), floors.astype(np.float32), mask.astype(np.float32),
        centred, scale_set,
    )  # fmt: skip
    return models, benches, data


def _anchors(anchors: Any, models: list[str]) -> tuple[tuple[int, int] | None, tuple[float, float]]:
    if anchors is None:
        return None, (0.0, 1.0)
    try:
        (m1, v1), (m2, v2) = anchors
        v1, v2 = float(v1), float(v2)
    except (TypeError, ValueError):
        raise ScalingError(
            f"The 'anchors' parameter of fit_index must be two (model, value) pairs or None. Got {anchors!r} instead."
        ) from None
    missing = [m for m in (m1, m2) if m not in models]
    if missing or m1 == m2 or v1 == v2:
        raise ScalingError(
            f"fit_index anchors {anchors!r}: "
            + (f"models {missing} are not in the table" if missing else "need two different models and values")
            + "; pick two models of the table (anchors=((m1, v1), (m2, v2))), "
            "or anchors=None for a standard-normal scale."
        )
    if v2 < v1:  # lower value first: the sampler's scale keeps the second reference above the first
        (m1, v1), (m2, v2) = (m2, v2), (m1, v1)
    return (models.index(m1), models.index(m2)), (v1, v2 - v1)


def fit_index(
    table: pd.DataFrame,
    *,
    anchors: Sequence[tuple[str, float]] | None = ECI_ANCHORS,
    likelihood: str = "beta",
    ceiling: bool = False,
    holdout: np.ndarray | None = None,
    num_warmup: int = 300,
    num_samples: int = 500,
    num_chains: int = 4,
    target_accept: float = 0.95,
    dense_mass: bool = True,
    max_tree_depth: int = 10,
    chain_method: str | None = None,
    seed: int = 0,
    gate: str = "warn",
) -> xr.DataTree:
    """Fit the capability index by NUTS (numpyro) and return the posterior as a DataTree.

    Parameters
    ----------
    table : long table (``model, benchmark, score`` required; see :func:`scaling.data.hub.long_table`).
    anchors : two (model, value) pairs fixing the scale (default ECI's, :data:`ECI_ANCHORS`), or
        None for ``theta ~ Normal(0, 1)``.
    likelihood : ``"beta"`` (with reported standard errors as measurement error) or ``"binomial"``
        (needs ``n_items`` on every row).
    ceiling : estimate a per-benchmark ceiling ``d_j`` (4PL) instead of 1.
    num_warmup : warm-up steps per chain, two thirds with a diagonal mass matrix, one third with the
        dense one estimated from all chains' draws (``dense_mass=True``; see
        :mod:`scaling.analysis.capability_sampler`).
    holdout : boolean per row: rows the fit does not learn from (kept for :func:`predict_scores`).
    chain_method : ``"parallel"`` (default on CPU: one thread per core), ``"sequential"`` or
        ``"vectorized"`` (default on accelerators); see :mod:`scaling.analysis.capability_sampler`.
    target_accept : NUTS's target acceptance rate (default 0.95: on the full hub, 0.9 left 4
        divergent transitions in 2,000 draws, which fail the gate; 0.95 none, in 57 s instead of 44 s).
    gate : ``"warn"`` (default), ``"raise"`` or ``"off"`` on a failed :func:`index_diagnosis`.
    """
    from scaling.analysis.capability_sampler import sample_index

    df = long_table(table)
    if likelihood not in LIKELIHOODS:
        raise ScalingError(
            f"The 'likelihood' parameter of fit_index must be one of {LIKELIHOODS}. Got {likelihood!r} instead."
        )
    if likelihood == "binomial" and df["n_items"].isna().any():
        r = df.index[df["n_items"].isna()][0]
        raise DataError(
            f"row {r} ({df.loc[r, 'benchmark']}): likelihood='binomial' needs n_items on every row; use 'beta'."
        )
    if gate not in ("warn", "raise", "off"):
        raise ScalingError(f"The 'gate' parameter of fit_index must be 'warn', 'raise' or 'off'. Got {gate!r} instead.")
    models, benches, data = _arrays(df, holdout)
    anchor_idx, scale = _anchors(anchors, models)
    spec = IndexSpec(len(models), len(benches), likelihood, bool(ceiling), anchor_idx, scale)
    draws, stats, method = sample_index(
        spec, data.arrays(), prepare(spec, data), num_warmup=num_warmup, num_samples=num_samples,
        num_chains=num_chains, target_accept=target_accept, dense_mass=dense_mass, max_tree_depth=max_tree_depth,
        chain_method=chain_method, seed=seed,
    )  # fmt: skip
    fit = _to_tree(draws, stats, df, models, benches, data, spec)
    settings = dict(num_warmup=num_warmup, num_samples=num_samples, num_chains=num_chains,
                    target_accept=target_accept, dense_mass=dense_mass, max_tree_depth=max_tree_depth,
                    chain_method=method)  # fmt: skip
    full = {"model": "capability_index", "likelihood": likelihood, "ceiling": bool(ceiling),
            "anchors": [list(a) for a in anchors] if anchors is not None else None, **settings}  # fmt: skip
    digest = hashlib.sha256(
        pd.util.hash_pandas_object(df[["model", "benchmark", "score"]], index=False).values
    ).hexdigest()
    diag = index_diagnosis(fit)
    fit.attrs.update(
        scaling_version=versions()["scaling"], law="capability_index", likelihood=likelihood,
        spec=canonical_json(full), spec_id=spec_id(full), data_sha256=digest, versions=canonical_json(versions()),
        seed=int(seed), n_heldout=int((data.mask == 0).sum()), diagnostics=json.dumps(diag.to_dict(), default=str),
        diagnostics_status=diag.status, created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )  # fmt: skip
    if diag.status == "fail" and gate != "off":
        msg = "capability index failed the diagnostics gate: " + "; ".join(diag.reasons[:5])
        if gate == "raise":
            raise ScalingError(msg + ". Raise num_warmup/num_samples or target_accept and refit.")
        warnings.warn(msg, stacklevel=2)
    return fit


def _to_tree(samples, stats, df, models, benches, data: IndexData, spec: IndexSpec) -> xr.DataTree:
    theta, b, a = anchor_draws(samples["theta_u"], samples["b_u"], samples["a_u"], spec)
    samples = {**samples, "theta": theta, "b": b, "a": a}
    dims = {"theta": ["model"], **{v: ["benchmark"] for v in ("a", "b", "c", "d", "phi")}}
    post = {
        k: xr.DataArray(np.asarray(v), dims=["chain", "draw", *dims.get(k, [])])
        for k, v in samples.items()
        if k in ("theta", "a", "b", *KEEP)
    }
    coords = {"model": models, "benchmark": benches}
    point = {"point": np.arange(len(df))}
    const = {
        "model_of": ("point", np.asarray(models, dtype=object)[data.model_idx].astype(str)),
        "benchmark_of": ("point", np.asarray(benches, dtype=object)[data.bench_idx].astype(str)),
        "stderr": ("point", data.stderr), "n_items": ("point", data.n_items), "mask": ("point", data.mask),
        "floor": ("benchmark", data.floor),
        "date": ("model", df.groupby("model")["date"].first().reindex(models).to_numpy("datetime64[ns]")),
    }  # fmt: skip
    return xr.DataTree.from_dict(
        {
            "posterior": xr.Dataset(post, coords=coords),
            "sample_stats": xr.Dataset(
                {
                    "diverging": (("chain", "draw"), stats["diverging"]),
                    "energy": (("chain", "draw"), stats["energy"]),
                    "n_steps": (("chain", "draw"), stats["n_steps"]),
                    "step_size": (("chain", "draw"), stats["step_size"]),
                }  # fmt: skip
            ),
            "observed_data": xr.Dataset({"y": ("point", np.asarray(df["score"], float))}, coords=point),
            "constant_data": xr.Dataset(const, coords={**point, **coords}),
        }
    )


def index_diagnosis(fit: xr.DataTree, *, rhat_max: float = 1.01, ess_min: float = 400.0) -> Diagnosis:
    """:func:`scaling.diagnose` (sampler checks, hyperparameters) plus R-hat and ESS of every theta, a, b, c, phi.

    Fixed quantities (the anchors' theta, known floors) are left out. The table gives the worst
    element of each vector (``theta[model]``).
    """
    post = fit["posterior"].to_dataset()
    hyper = [v for v in HYPER if v in post]
    base = diagnose(fit, rhat_max=rhat_max, ess_min=ess_min, var_names=hyper) if hyper else None
    import arviz_stats as azs

    rows, reasons, status = [], list(base.reasons) if base else [], base.status if base else "pass"
    for v in ("theta", "a", "b", "c", "d", "phi"):
        if v not in post:
            continue
        x = post[v]
        free = (x.max(("chain", "draw")) > x.min(("chain", "draw"))).values  # exact for constants
        if not free.any():
            continue
        x = x.isel({x.dims[-1]: np.flatnonzero(free)})
        r, eb, et = azs.rhat(x).values, azs.ess(x, method="bulk").values, azs.ess(x, method="tail").values
        names = x[x.dims[-1]].values
        worst_r, worst_e = int(np.nanargmax(r)), int(np.nanargmin(np.minimum(eb, et)))
        s = "pass"
        if np.nanmax(r) > rhat_max or not np.all(np.isfinite(r)):
            s = "fail"
            reasons.append(
                f"R-hat of {v}[{names[worst_r]}] is {r[worst_r]:.3f} > {rhat_max} "
                f"({int(np.sum(r > rhat_max))} elements)"
            )
        if np.nanmin(np.minimum(eb, et)) < ess_min:
            s = "fail"
            reasons.append(f"ESS of {v}[{names[worst_e]}] is {min(eb[worst_e], et[worst_e]):.0f} < {ess_min:g}")
        status = "fail" if s == "fail" else status
        rows.append({"parameter": v, "r_hat": float(np.nanmax(r)), "ess_bulk": float(np.nanmin(eb)),
                     "ess_tail": float(np.nanmin(et)), "status": s})  # fmt: skip
    table = pd.DataFrame(rows).set_index("parameter")
    if base is not None:
        table = pd.concat([base.table, table])
    return Diagnosis(status, reasons, table, base.summary if base else {})


def _draws(fit: xr.DataTree, var: str) -> np.ndarray:
    x = fit["posterior"][var]
    return np.asarray(x.stack(sample=("chain", "draw")).transpose("sample", ...).values)


def predict_scores(
    fit: xr.DataTree, rows: pd.DataFrame | None = None, *, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Posterior-predictive scores: (rows, draws shaped (sample, row)).

    ``rows`` has ``model, benchmark`` (both in the fit) and optionally ``stderr``; default: the
    fit's held-out points (with their observed ``score``). Draws include the benchmark's noise
    (beta with ``phi_j``, plus the row's measurement error; binomial with ``n_items``).
    """
    const = fit["constant_data"].to_dataset()
    if rows is None:
        held = const["mask"].values == 0
        rows = pd.DataFrame({"model": const["model_of"].values[held], "benchmark": const["benchmark_of"].values[held],
                             "stderr": const["stderr"].values[held], "n_items": const["n_items"].values[held],
                             "score": fit["observed_data"]["y"].values[held]})  # fmt: skip
    models, benches = list(fit["posterior"]["model"].values), list(fit["posterior"]["benchmark"].values)
    mi, bi = pd.Index(models).get_indexer(rows["model"]), pd.Index(benches).get_indexer(rows["benchmark"])
    if (mi < 0).any() or (bi < 0).any():
        bad = rows[(mi < 0) | (bi < 0)].iloc[0]
        raise ScalingError(
            f"predict_scores: ({bad['model']!r}, {bad['benchmark']!r}) is not a model and benchmark of the fit."
        )
    th, a, b, c = (_draws(fit, v) for v in ("theta", "a", "b", "c"))
    d = _draws(fit, "d")[:, bi] if "d" in fit["posterior"] else 1.0
    mu = np.clip(c[:, bi] + (d - c[:, bi]) / (1 + np.exp(-a[:, bi] * (th[:, mi] - b[:, bi]))), 1e-6, 1 - 1e-6)
    rng = np.random.default_rng(seed)
    if json.loads(fit.attrs["spec"])["likelihood"] == "binomial":
        n = np.asarray(rows["n_items"], float)
        return rows.reset_index(drop=True), rng.binomial(n.astype(int), mu) / n
    se = np.nan_to_num(np.asarray(rows["stderr"], float)) if "stderr" in rows else 0.0
    phi = _draws(fit, "phi")[:, bi]
    var = mu * (1 - mu) / (1 + phi) + se**2
    phi_eff = np.maximum(mu * (1 - mu) / var - 1, 1e-3)
    return rows.reset_index(drop=True), rng.beta(mu * phi_eff, (1 - mu) * phi_eff)


def compare_eci(fit: xr.DataTree, eci: pd.DataFrame | None = None) -> pd.DataFrame:
    """The index's posterior medians against Epoch's published ECI, on the models both cover.

    ``eci`` has ``model_version, eci`` (default: the registry's ``epoch_benchmarks``). ECI is
    regressed on the median (affine map, least squares); the table has per model ``median``,
    ``lo``/``hi`` (95% interval), ``eci``, ``mapped`` (the affine image of the median) and
    ``difference`` (eci - mapped); ``attrs`` hold ``spearman``, ``pearson``, ``slope``,
    ``intercept`` and ``n``.
    """
    from scipy.stats import pearsonr, spearmanr

    if eci is None:
        from scaling.data.registry import load

        eci = load("epoch_benchmarks")
    theta = fit["posterior"]["theta"]
    q = theta.quantile([0.025, 0.5, 0.975], dim=("chain", "draw")).values
    ours = pd.DataFrame({"model": theta["model"].values, "lo": q[0], "median": q[1], "hi": q[2]})
    ref = eci.dropna(subset=["eci"]).drop_duplicates("model_version")[["model_version", "eci"]]
    both = ours.merge(ref, left_on="model", right_on="model_version").drop(columns="model_version")
    if len(both) < 3:
        raise DataError(f"compare_eci: only {len(both)} models of the fit have a published ECI; need at least 3.")
    slope, intercept = np.polyfit(both["median"], both["eci"], 1)
    both["mapped"] = intercept + slope * both["median"]
    both["difference"] = both["eci"] - both["mapped"]
    both = both.sort_values("difference", key=np.abs, ascending=False).reset_index(drop=True)
    both.attrs.update(
        spearman=float(spearmanr(both["median"], both["eci"]).statistic),
        pearson=float(pearsonr(both["median"], both["eci"]).statistic),
        slope=float(slope), intercept=float(intercept), n=len(both),
    )  # fmt: skip
    return both
