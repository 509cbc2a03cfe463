"""Datasets by name: the shipped tables and a registry of public datasets.

``load(name)`` reads a shipped table from the package (the repository's ``datasets/``), or a
public dataset's file from the offline mirror ``$SCALING_DATA_DIR``, the download cache, or its
pinned upstream URL (see :mod:`scaling.data.download`: the upstream file at a fixed commit,
checked against its sha256). Documented derivations and subsets (:mod:`scaling.data.upstream`)
turn the upstream file into the source table; columns are then renamed and scaled to our schema
(:data:`SCHEMA`) and checked with the same rules as :func:`scaling.data.prepare`: the first bad
value raises a :class:`~scaling.errors.DataError` naming file, row, column, rule and fix. Missing
values are allowed here (they are excluded, with a report, only when a fit needs that column).
"""

from __future__ import annotations

import tomllib
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from scaling.data.download import (
    CACHE_ENV,
    DATA_ENV,
    SHIPPED,
    ChecksumNotice,
    DatasetUnavailable,
    cache_dir,
    download_cache_dir,
    locate_file,
    mirror_dir,
    sha256_file,
    where,
)
from scaling.data.tables import _numeric, _show, scores_as_fractions
from scaling.data.upstream import read_source
from scaling.errors import DataError

__all__ = [
    "CACHE_ENV",
    "DATA_ENV",
    "SCHEMA",
    "SHIPPED",
    "ChecksumNotice",
    "DatasetUnavailable",
    "cache_dir",
    "catalogue",
    "data_dir",
    "download_cache_dir",
    "info",
    "load",
    "locate",
    "names",
    "registry",
    "sha256_file",
]


def data_dir() -> Path:
    """Folder public datasets are read from: the mirror ``$SCALING_DATA_DIR`` if set, else the download cache."""
    return mirror_dir() or download_cache_dir()


#: Our column names: (kind, unit, meaning). Kinds: text, date, positive, nonnegative, score, flag, number.
SCHEMA: dict[str, tuple[str, str, str]] = {
    "model": ("text", "", "model name"),
    "model_version": ("text", "", "model version (one evaluated configuration)"),
    "organisation": ("text", "", "developer"),
    "company": ("text", "", "company"),
    "family": ("text", "", "model family"),
    "dataset": ("text", "", "pretraining dataset"),
    "domain": ("text", "", "domain (Language, Vision, ...)"),
    "accessibility": ("text", "", "weights access"),
    "source": ("text", "", "citation"),
    "release_date": ("date", "ISO date", "public release date"),
    "date": ("date", "ISO date", "date of the report"),
    "training_flop": ("positive", "FLOP", "total training compute"),
    "parameters": ("positive", "count", "parameters (total, for MoE)"),
    "training_tokens": ("positive", "tokens", "pretraining tokens"),
    "tokens_per_param": ("positive", "tokens/parameter", "tokens per parameter"),
    "loss": ("positive", "nats/token", "final training or validation loss"),
    "p50_minutes": ("positive", "minutes", "50% time horizon (human-expert minutes)"),
    "p50_ci_low": ("positive", "minutes", "lower end of the 95% interval"),
    "p50_ci_high": ("positive", "minutes", "upper end of the 95% interval"),
    "p80_minutes": ("positive", "minutes", "80% time horizon"),
    "revenue_usd": ("positive", "USD", "revenue (annualised or annual)"),
    "excluded": ("flag", "0/1", "1 = documented outlier, excluded by the reference fit"),
    "frontier": ("flag", "0/1", "1 = state of the art at release"),
    "open_weights": ("flag", "0/1", "1 = weights released"),
    "possibly_different_scope": ("flag", "0/1", "1 = report may cover a different scope"),
    **{
        name: ("score", "fraction", f"{label} score")
        for name, label in {
            "mmlu": "MMLU (5-shot)",
            "gpqa_diamond": "GPQA Diamond",
            "swe_bench_verified": "SWE-bench Verified",
            "arc_c": "ARC-Challenge",
            "hellaswag": "HellaSwag",
            "winogrande": "WinoGrande",
            "truthfulqa": "TruthfulQA",
            "gsm8k": "GSM8K",
            "xwinograd": "XWinograd",
            "humaneval": "HumanEval",
            "average_score": "weighted mean task success",
        }.items()
    },
}


@lru_cache(maxsize=1)
def registry() -> dict[str, dict[str, Any]]:
    """The registry (``datasets/registry.toml``) as a dict of entries."""
    with open(SHIPPED / "registry.toml", "rb") as f:
        return tomllib.load(f)


def names() -> list[str]:
    return list(registry())


def info(name: str) -> dict[str, Any]:
    """One registry entry (title, path, sha256, homepage, licence, citation, columns)."""
    reg = registry()
    if name not in reg:
        raise DataError(f"Unknown dataset {name!r}. Known datasets: {', '.join(reg)} (see `scaling datasets list`).")
    return reg[name]


def column_spec(value: str | dict[str, Any], ours: str) -> tuple[str, float, str]:
    """(source column, scale, kind) of one mapping entry."""
    if isinstance(value, str):
        return value, 1.0, SCHEMA.get(ours, ("number",))[0]
    return value["from"], float(value.get("scale", 1.0)), value.get("kind", SCHEMA.get(ours, ("number",))[0])


def locate(name: str, *, download: bool = True, progress: bool | None = None) -> Path:
    """Path of the dataset's file: shipped, in the mirror (a notice if it differs), cached, or downloaded.

    Raises :class:`DatasetUnavailable` (a :class:`DataError`) saying what to do when none works.
    """
    entry = info(name)
    if entry.get("shipped"):
        return SHIPPED / entry["path"]
    return locate_file(name, entry, download=download, progress=progress)


def load(name: str, *, download: bool = True) -> pd.DataFrame:
    """A registered dataset as a validated DataFrame in our schema's columns and units.

    Row labels are the file's 1-based data rows; ``df.attrs`` carries ``source``
    (the file), ``dataset``, ``citation``, ``licence``, ``notes``, ``subset`` (the registered
    subset's rows left out, with the reason; empty if none) and the registry's ``corrections``
    applied (one line each, with the reason).

    >>> df = load("time_horizons")
    >>> {"model", "release_date", "p50_minutes"} <= set(df.columns)
    True
    """
    entry = info(name)
    path = locate(name, download=download)
    raw = read_source(path, entry)
    source = str(path)
    out = pd.DataFrame(index=raw.index)
    notes: list[str] = []
    for ours, value in entry["columns"].items():
        col, scale, kind = column_spec(value, ours)
        if col not in raw.columns:
            raise DataError(
                f"{source}: registry column {col!r} (for {ours!r}) not found; columns are {list(raw.columns)}."
            )
        values = check_column(raw, col, kind, source, notes)
        out[ours] = values * scale if scale != 1.0 else values
    if entry.get("keep_unmapped"):
        mapped = {column_spec(v, k)[0] for k, v in entry["columns"].items()}
        for col in raw.columns:
            if col not in mapped and col not in out.columns:
                out[col] = raw[col]
    if entry.get("key"):
        check_unique(out, entry["key"], source)
    corrections = []
    for fix in entry.get("corrections", []):
        rows = out.index[out[entry["key"]] == fix["key"]]
        if len(rows) != 1:
            raise DataError(
                f"Registry correction for {name!r}: {entry['key']} {fix['key']!r} matches {len(rows)} rows."
            )
        for col, value in fix["set"].items():
            corrections.append(
                f"row {rows[0]} ({fix['key']}): {col} {_show(out.loc[rows[0], col])} -> {_show(value)}; {fix['reason']}"
            )
            out.loc[rows[0], col] = value
    for note in notes:
        warnings.warn(note, stacklevel=2)
    out.attrs.update(
        source=source,
        dataset=name,
        citation=entry.get("citation", ""),
        licence=entry.get("licence", ""),
        notes=entry.get("notes", ""),
        subset=raw.attrs.get("subset", ""),
        corrections=corrections,
    )
    return out


def check_column(df: pd.DataFrame, col: str, kind: str, source: str, notes: list[str]) -> pd.Series:
    """One column checked by kind; returns the cleaned values (missing values kept as NaN/NaT)."""
    if kind == "text":
        return df[col].astype("string")
    if kind == "date":
        values = df[col]
        dates = pd.to_datetime(values, errors="coerce", format="mixed")
        bad = dates.isna() & values.notna()
        if bad.any():
            r = values.index[bad][0]
            raise DataError(f"{source} row {r}, column {col!r}: expected a date (YYYY-MM-DD); got {values[r]!r}.")
        return dates
    values = _numeric(df, col, source) if df[col].notna().any() else pd.Series(float("nan"), index=df.index)
    if kind == "positive":
        _check(values, values > 0, source, col, "expected a positive number")
    elif kind == "nonnegative":
        _check(values, values >= 0, source, col, "expected a number >= 0")
    elif kind == "score":
        values = scores_as_fractions(values, col, source, notes)
        _check(values, (values >= 0) & (values <= 1), source, col, "expected a score in [0, 1]")
    elif kind == "flag":
        values = values.map({1.0: 1, 0.0: 0}) if values.notna().all() else values
        _check(values, values.isin([0, 1]), source, col, "expected a 0/1 flag")
    elif kind != "number":
        raise DataError(f"{source} column {col!r}: unknown kind {kind!r} in the registry.")
    return values


def _check(values: pd.Series, ok: pd.Series, source: str, col: str, rule: str) -> None:
    bad = values.notna() & ~ok.fillna(False).astype(bool)
    if bad.any():
        rows = list(values.index[bad])
        raise DataError(
            f"{source} row {rows[0]}, column {col!r}: {rule}; got {_show(values[rows[0]])}"
            + (f" ({len(rows)} such rows: {rows[:5]})" if len(rows) > 1 else "")
            + ". Fix the value or remove the row."
        )


def check_unique(df: pd.DataFrame, key: str, source: str) -> None:
    """Raise if ``key`` repeats, naming both rows."""
    dup = df[key].duplicated(keep=False) & df[key].notna()
    if dup.any():
        first = df.loc[dup, key].iloc[0]
        rows = list(df.index[df[key] == first])
        raise DataError(
            f"{source} rows {rows}, column {key!r}: {first!r} appears {len(rows)} times; each {key} must be unique. "
            "Remove the duplicate or give it a distinct name."
        )


def catalogue() -> pd.DataFrame:
    """One row per registered dataset: name, title, where it is now (no download), licence, homepage.

    ``where``: ``shipped``, ``mirror``, ``mirror, differs from upstream`` (a trimmed or newer copy),
    ``cache`` or ``missing``; ``available`` is False only for ``missing``.
    """
    rows = []
    for name, entry in registry().items():
        place, path = ("shipped", SHIPPED / entry["path"]) if entry.get("shipped") else where(name, entry)
        rows.append(
            {
                "name": name,
                "title": entry.get("title", ""),
                "shipped": bool(entry.get("shipped")),
                "where": place,
                "available": place != "missing",
                "path": str(path) if path is not None else "",
                "licence": entry.get("licence", ""),
                "homepage": entry.get("homepage", ""),
            }
        )
    return pd.DataFrame(rows)
