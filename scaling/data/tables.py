"""Load and validate data for a law: every error names file, row and column.

Rows are never dropped silently. Missing values raise unless ``dropna=True``;
then each excluded row is reported (a warning, and the fit's
``excluded_rows`` attribute) with the reason.

Row numbers in messages: for files, ``row 1`` is the first data row (the line
after the header, so ``row k`` is line ``k + 1``); for DataFrames, the index label.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.errors import DataError


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV with 1-based row labels (``row 1`` = first data row).

    Raises :class:`DataError` (never a raw parser error) for a missing, empty,
    undecodable or malformed file, and for a file that is not comma-separated.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Data file {str(path)!r} does not exist.")
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty.") from None
    except pd.errors.ParserError as e:
        raise DataError(
            f"{path}: not a well-formed CSV ({str(e).strip()}). Check quoting and the number of fields on that line."
        ) from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}). Save the file as UTF-8 CSV.") from None
    if df.shape[1] == 1:
        header = str(df.columns[0])
        for sep, name in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if sep in header:
                raise DataError(
                    f"{path}: found one column {header!r}; the file looks {name}-separated. Save it "
                    f"comma-separated, or read it with pandas.read_csv(sep=...) and pass the DataFrame."
                )
    df.index = pd.RangeIndex(1, len(df) + 1)
    df.attrs["source"] = str(path)
    return df


def _where(df: pd.DataFrame, source: str, row: Any, column: str) -> str:
    line = f" (line {row + 1})" if source.endswith(".csv") and isinstance(row, (int, np.integer)) else ""
    return f"{source} row {row}{line}, column {column!r}"


def _numeric(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    """Column as float; non-numeric entries raise naming the first offending rows."""
    raw = df[col]
    if pd.api.types.is_float_dtype(raw.dtype) or pd.api.types.is_integer_dtype(raw.dtype):
        vals = raw.astype(float)  # already numbers: nothing to coerce (the common case, and fast)
        if len(vals) and np.isnan(vals.to_numpy()).all():
            raise DataError(f"{source} column {col!r} is empty (all values missing).")
        return vals
    if len(raw) and raw.isna().all():
        raise DataError(f"{source} column {col!r} is empty (all values missing).")
    vals = pd.to_numeric(raw, errors="coerce")
    bad = vals.isna() & raw.notna()
    if bad.any():
        rows = list(raw.index[bad])
        first = rows[0]
        more = f" ({len(rows)} such rows: {rows[:5]}{'...' if len(rows) > 5 else ''})" if len(rows) > 1 else ""
        raise DataError(
            f"{_where(df, source, first, col)}: expected a number, got {raw[first]!r}{more}. "
            f"Fix or remove these values."
        )
    return vals.astype(float)


def to_decimal_year(values: pd.Series, col: str, source: str, df: pd.DataFrame) -> pd.Series:
    """Dates (ISO strings or datetimes) or decimal years -> decimal years (float)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
    elif pd.api.types.is_numeric_dtype(values):
        return values.astype(float)
    else:
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().sum() == values.notna().sum():
            return numeric.astype(float)
        dates = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = dates.isna() & values.notna()
    if bad.any():
        first = values.index[bad][0]
        raise DataError(
            f"{_where(df, source, first, col)}: expected a date (YYYY-MM-DD) or a decimal year, got {values[first]!r}."
        )
    year = dates.dt.year.astype(float)
    start = pd.to_datetime(dates.dt.year.astype("Int64").astype(str) + "-01-01")
    days = np.where(dates.dt.is_leap_year, 366.0, 365.0)
    frac = (dates - start).dt.total_seconds() / 86400.0 / days
    return (year + frac).where(dates.notna())


#: Unit names accepted for columns (``units={"flop": "log10"}``).
UNITS = ("raw", "log10", "pf-days", "percent", "fraction")


PF_DAY_FLOP = 1e15 * 86400.0  # one petaflop/s-day = 8.64e19 FLOP


def convert_units(values: pd.Series, unit: str, col: str, source: str) -> pd.Series:
    """Values in ``unit`` -> the natural unit (FLOP / count / fraction).

    ``log10``: 10**v; ``pf-days``: v * 8.64e19 FLOP; ``percent``: v / 100; ``raw``, ``fraction``: unchanged.
    """
    if unit not in UNITS:
        raise DataError(f"{source} column {col!r}: unknown unit {unit!r}. Use one of {list(UNITS)}.")
    if unit == "log10":
        return 10.0**values
    if unit == "pf-days":
        return values * PF_DAY_FLOP
    if unit == "percent":
        return values / 100.0
    return values


def scores_as_fractions(values: pd.Series, col: str, source: str, notes: list[str]) -> pd.Series:
    """Scores given in percent (all in [0, 100], some above 1) become fractions, with a notice."""
    finite = values.dropna()
    if len(finite) and (finite > 1.0).mean() > 0.5 and finite.max() > 100.0:
        rows = list(finite.index[finite > 100.0])
        raise DataError(
            f"{source} row {rows[0]}, column {col!r}: expected a score, as a fraction in [0, 1] or a percentage in "
            f"[0, 100]; got {_show(finite[rows[0]])} ({len(rows)} such row(s): {rows[:5]}). Fix these values."
        )
    if len(finite) and finite.max() > 1.0 and finite.min() >= 0.0 and finite.max() <= 100.0:
        notes.append(
            f"{source} column {col!r}: scores look like percentages (max {finite.max():g}); divided by 100. "
            f"Pass units={{{col!r}: 'fraction'}} to keep them as they are."
        )
        return values / 100.0
    return values


def describe_exclusions(excluded: list[dict[str, Any]], limit: int = 12) -> str:
    """One line per reason: ``excluded 3 row(s): missing value in ['loss'] (rows 4, 9, 12)``."""
    by_reason: dict[str, list[Any]] = {}
    for e in excluded:
        by_reason.setdefault(e["reason"], []).append(e["row"])
    parts = []
    for reason, rows in by_reason.items():
        shown = ", ".join(str(r) for r in rows[:limit]) + (", ..." if len(rows) > limit else "")
        parts.append(f"{reason} (rows {shown})")
    return f"excluded {len(excluded)} row(s): " + "; ".join(parts)


def _show(v: Any) -> str:
    """A value as a user would write it: ``-3e+21``, ``0.5``, ``'abc'``."""
    return f"{v:g}" if isinstance(v, (float, np.floating)) else repr(v.item() if isinstance(v, np.generic) else v)


def _jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v if isinstance(v, (int, float, str)) else str(v)
