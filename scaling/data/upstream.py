"""Reading a registry file into the source table its column mapping refers to.

Where the upstream file is not yet the table the registry maps (another format, or a column that
the reference analysis derives), a documented derivation here turns it into that table; the
registry names it with ``derive = "..."``. A mirror copy that was already put through the same
recipe (the offline mirror's cleaned copies) passes through unchanged. ``subset`` (a date cut,
with its reason) is applied after the derivation and reported in ``df.attrs["subset"]``.
Row labels stay those of the file (1-based data rows), so every error names a row of the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.data.tables import read_table
from scaling.errors import DataError


def read_source(path: Path, entry: dict[str, Any]) -> pd.DataFrame:
    """The file at ``path`` as the source table of ``entry`` (derivation and subset applied).

    A folder (a many-file entry's download) is read by the entry's ``reader``.
    """
    if path.is_dir():
        from scaling.data.gadre import read_gadre_runs

        readers = {"gadre_runs": read_gadre_runs}
        if entry.get("reader") not in readers:
            raise DataError(f"Registry: {path} is a folder; the entry needs a reader, one of {sorted(readers)}.")
        raw = readers[entry["reader"]](path)
    elif path.suffix in (".yaml", ".yml"):
        raw = read_metr_yaml(path)
    else:
        raw = read_table(path)
    source = str(path)
    if entry.get("derive"):
        if entry["derive"] not in DERIVATIONS:
            raise DataError(f"Registry: unknown derivation {entry['derive']!r}; known: {sorted(DERIVATIONS)}.")
        raw = DERIVATIONS[entry["derive"]](raw, source)
    raw.attrs["subset"] = ""
    if entry.get("subset"):
        raw = apply_subset(raw, entry["subset"], source)
    raw.attrs["source"] = source
    return raw


def apply_subset(df: pd.DataFrame, subset: dict[str, Any], source: str) -> pd.DataFrame:
    """Keep rows dated before ``subset["before"]`` in ``subset["column"]`` (rows with no date are kept)."""
    col = subset["column"]
    if col not in df.columns:
        raise DataError(f"{source}: registry subset column {col!r} not found; columns are {list(df.columns)}.")
    dates = pd.to_datetime(df[col], errors="coerce", format="mixed")
    keep = dates.isna() | (dates < pd.Timestamp(subset["before"]))
    out = df[keep].copy()
    out.attrs["subset"] = (
        f"{int((~keep).sum())} of {len(df)} rows with {col} on or after {subset['before']} left out: {subset['reason']}"
    )
    return out


def _need(df: pd.DataFrame, columns: list[str], source: str, what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: expected the {what} columns {columns}; {missing} not found (columns are {list(df.columns)}). "
            "Is this the registered file?"
        )


def read_metr_yaml(path: Path) -> pd.DataFrame:
    """METR's ``benchmark_results.yaml`` flattened: one row per model, horizons in human-expert minutes.

    Columns as in METR's YAML: ``model_id`` (the key under ``results``), ``benchmark_name``,
    ``release_date``, ``p50_minutes`` / ``p50_ci_low`` / ``p50_ci_high`` (``p50_horizon_length``
    estimate and 95% interval), the same for ``p80``, ``average_score``, ``is_sota``,
    ``usage_usd``, ``usage_working_time`` and ``scaffolds`` (joined with ``;``).
    """
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: not a readable YAML file ({e}).") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
        raise DataError(f"{path}: expected METR's benchmark results (a 'results' mapping of models).")
    rows = []
    for model, r in doc["results"].items():
        m = r.get("metrics", {})
        p50, p80 = m.get("p50_horizon_length", {}), m.get("p80_horizon_length", {})
        usage = m.get("usage") or {}
        rows.append(
            {
                "model_id": model,
                "benchmark_name": doc.get("benchmark_name"),
                "release_date": str(r.get("release_date")) if r.get("release_date") else None,
                "p50_minutes": p50.get("estimate"),
                "p50_ci_low": p50.get("ci_low"),
                "p50_ci_high": p50.get("ci_high"),
                "p80_minutes": p80.get("estimate"),
                "p80_ci_low": p80.get("ci_low"),
                "p80_ci_high": p80.get("ci_high"),
                "average_score": (m.get("average_score") or {}).get("estimate"),
                "is_sota": m.get("is_sota"),
                "usage_usd": usage.get("usd"),
                "usage_working_time": usage.get("working_time"),
                "scaffolds": ";".join(s for s in (r.get("scaffolds") or []) if s),
            }
        )
    df = pd.DataFrame(rows)
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df


def chinchilla_fig4(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Epoch's Fig. 4 points plus ``tokens_D = C / (6 N)`` and ``besiroglu_excluded``.

    Besiroglu et al. (2024, arXiv:2404.10102) fit on ``loss < sorted(loss)[-5]``: the 5 highest
    losses are excluded (flag 1), as in their notebook.
    """
    _need(df, ["Model Size", "Training FLOP", "loss"], source, "Epoch Chinchilla (svg_extracted_data.csv)")
    out = df.copy()
    out["tokens_D"] = out["Training FLOP"] / (6.0 * out["Model Size"])
    fifth_highest = np.sort(out["loss"].to_numpy())[-5]
    out["besiroglu_excluded"] = (out["loss"] >= fifth_highest).astype(int)
    return out


def epoch_revenue(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Epoch AI-companies revenue (third-party stripped export) in ISO dates, with a scope flag.

    Upstream columns ``Company``, ``Date`` (M/D/YYYY), ``Revenue amount (normalize to annual)``
    (USD per year) become ``company``, ``date``, ``revenue_usd_annualized``; rows are ordered by
    company and date (row labels stay the file's). ``possibly_different_scope`` = 1 where the value
    is below 70% of the company's running maximum (calendar-year totals or one product's run-rate
    among run-rate reports).
    """
    if "revenue_usd_annualized" in df.columns:  # a copy already cleaned by this recipe
        return df
    _need(df, ["Company", "Date", "Revenue amount (normalize to annual)"], source, "AI-companies revenue")
    out = pd.DataFrame(
        {
            "company": df["Company"],
            "date": pd.to_datetime(df["Date"], format="%m/%d/%Y", errors="coerce"),
            "revenue_usd_annualized": df["Revenue amount (normalize to annual)"],
        },
        index=df.index,
    )
    bad = out["date"].isna() & df["Date"].notna()
    if bad.any():
        r = out.index[bad][0]
        raise DataError(f"{source} row {r}, column 'Date': expected M/D/YYYY; got {df.loc[r, 'Date']!r}.")
    out = out.sort_values(["company", "date"], kind="stable")
    running_max = out.groupby("company")["revenue_usd_annualized"].cummax()
    out["possibly_different_scope"] = (out["revenue_usd_annualized"] < 0.7 * running_max).astype(int)
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out


#: GPT-3 model sizes (Brown et al. 2020, arXiv:2005.14165, Table 2.1) by ColPret's model key.
GPT3_SIZES = {
    "small": ("GPT-3 Small", 125e6),
    "medium": ("GPT-3 Medium", 350e6),
    "large": ("GPT-3 Large", 760e6),
    "xl": ("GPT-3 XL", 1.3e9),
    "2.7b": ("GPT-3 2.7B", 2.7e9),
    "6.7b": ("GPT-3 6.7B", 6.7e9),
    "13b": ("GPT-3 13B", 13e9),
    "175b": ("GPT-3 175B", 175e9),
}


def colpret_gpt3(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """ColPret's digitised GPT-3 curves: ``step`` is the figure's x axis, billions of tokens seen.

    Adds ``model_name`` and ``num_params`` from :data:`GPT3_SIZES`; ``tokens_seen_billions`` = ``step``.
    """
    if "step" in df.columns:
        df = df.rename(columns={"step": "tokens_seen_billions"})
    _need(df, ["model", "tokens_seen_billions", "train_loss", "val_loss"], source, "ColPret GPT-3 curves")
    unknown = ~df["model"].isin(list(GPT3_SIZES))
    if unknown.any():
        r = df.index[unknown][0]
        raise DataError(
            f"{source} row {r}, column 'model': unknown GPT-3 model {df.loc[r, 'model']!r}; known: {list(GPT3_SIZES)}."
        )
    out = df.copy()
    out["model_name"] = out["model"].map(lambda k: GPT3_SIZES[k][0])
    out["num_params"] = out["model"].map(lambda k: GPT3_SIZES[k][1])
    return out


_SIZE = re.compile(r"^\s*([0-9.]+)\s*([mbk])\s*$", re.I)


def _size(text: Any) -> float:
    m = _SIZE.match(str(text))
    return float(m.group(1)) * {"k": 1e3, "m": 1e6, "b": 1e9}[m.group(2).lower()] if m else float("nan")


def colpret_opt(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """ColPret's OPT trajectories: ``tokens = 10**log10_tokens``, ``flops = 10**log10_flops``, parameters.

    Upstream columns ``num_token`` and ``flops`` are log10 values and ``ppl`` the validation
    perplexity; they become ``log10_tokens``, ``log10_flops`` and ``perplexity``. ``num_params``
    is read from ``model_size`` (``125m`` = 1.25e8, ``1.3b`` = 1.3e9).
    """
    if "ppl" in df.columns:
        _need(df, ["model_size", "steps", "num_token", "flops", "ppl"], source, "ColPret OPT trajectories")
        df = df.rename(columns={"num_token": "log10_tokens", "flops": "log10_flops", "ppl": "perplexity"})
        df["tokens"] = 10.0 ** df["log10_tokens"]
        df["flops"] = 10.0 ** df["log10_flops"]
    _need(df, ["model_size", "steps", "tokens", "flops", "perplexity"], source, "OPT trajectory")
    out = df.copy()
    out["num_params"] = out["model_size"].map(_size)
    bad = out["num_params"].isna()
    if bad.any():
        r = out.index[bad][0]
        raise DataError(
            f"{source} row {r}, column 'model_size': expected a size such as 1.3b, got {df.loc[r, 'model_size']!r}."
        )
    return out


def epoch_percent_scores(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """Epoch's external benchmark scores: ``EM`` given as percent strings (``77.0%``) becomes a fraction (0.77)."""
    _need(df, ["EM"], source, "Epoch external benchmark")
    text = df["EM"].astype("string").str.strip()
    values = pd.to_numeric(text.str.removesuffix("%"), errors="coerce") / 100.0
    bad = values.isna() & df["EM"].notna()
    if bad.any():
        r = df.index[bad][0]
        raise DataError(f"{source} row {r}, column 'EM': expected a percentage such as 77.0%; got {df.loc[r, 'EM']!r}.")
    out = df.copy()
    out["EM"] = values.astype(float)
    return out


DERIVATIONS: dict[str, Callable[[pd.DataFrame, str], pd.DataFrame]] = {
    "chinchilla_fig4": chinchilla_fig4,
    "epoch_revenue": epoch_revenue,
    "colpret_gpt3": colpret_gpt3,
    "colpret_opt": colpret_opt,
    "epoch_percent_scores": epoch_percent_scores,
}
