"""Reading and checking tables: CSVs with 1-based row labels, numbers, dates (ISO or decimal years),
units and scores, each error naming the file, row and column and saying what to do.

Row numbers in messages: for files, ``row 1`` is the first data row (the line after the header,
so ``row k`` is line ``k + 1``); for DataFrames, the index label."""

from __future__ import annotations

import csv
import os
import re
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
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a folder, not a CSV file; give the file in it (e.g. {path}/data.csv).")
    try:
        _check_fields(path)
        df = pd.read_csv(path, index_col=False)
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror}).") from None
    except csv.Error as e:
        raise DataError(f"{path}: not a well-formed CSV ({e}).") from None
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


def _check_fields(path: Path) -> None:
    """Every line has as many fields as the header, and header names are present and distinct.

    pandas would otherwise take a trailing comma on every row as an index column (shifting every
    value one column left), fill short rows with missing values, and rename a repeated name ``x.1``.
    """
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None:
            return  # empty: pandas reports it
        if len(header) == 1:
            return  # one column: the separator check after reading says more
        names = [h.strip() for h in header]
        for j, name in enumerate(names):
            if not name:
                trailing = " (a trailing comma at the end of the header?)" if j == len(names) - 1 else ""
                raise DataError(f"{path}: header field {j + 1} has no name{trailing}. Name every column.")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataError(
                f"{path}: the header names column(s) {repeated} more than once; which one is meant is unknown. "
                f"Rename or remove the copies."
            )
        for row in rows:
            line = rows.line_num
            if not row:
                continue  # a blank line
            if len(row) != len(header):
                extra = len(row) == len(header) + 1 and not row[-1].strip()
                why = " (a trailing comma?)" if extra else ""
                raise DataError(
                    f"{path}: not a well-formed CSV: row {line - 1} (line {line}) has {len(row)} fields, but the "
                    f"header has {len(header)}{why}. Every row needs one value per column (empty for missing)."
                )


def _where(df: pd.DataFrame, source: str, row: Any, column: str) -> str:
    line = f" (line {row + 1})" if source.endswith(".csv") and isinstance(row, (int, np.integer)) else ""
    return f"{source} row {row}{line}, column {column!r}"


def _numeric(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    """Column as float; non-numeric entries raise naming the first offending rows."""
    raw = df[col]
    if isinstance(raw, pd.DataFrame):
        raise DataError(f"{source}: column name {col!r} appears more than once; rename the copies.")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype) or isinstance(raw.dtype, pd.PeriodDtype):
        raise DataError(
            f"{source} column {col!r} holds dates, and this input of the law needs numbers; use a date trend law "
            f"(exponential_trend, quadratic_trend, logistic_trend) for dates, or give a numeric column."
        )
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


#: Decimal years outside this range are refused: they are epoch seconds (1.7e9), milliseconds
#: (1.7e12), day counts or typos, not years.
YEAR_RANGE = (1900.0, 2200.0)

_ISO = re.compile(r"^\d{4}-\d{1,2}(?:-\d{1,2})?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$")
_DMY = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_TZ = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def to_decimal_year(
    values: pd.Series, col: str, source: str, df: pd.DataFrame, notes: list[str] | None = None
) -> pd.Series:
    """Dates (ISO strings or datetimes) or decimal years -> decimal years (float).

    Refused rather than guessed: numbers outside :data:`YEAR_RANGE` (epoch seconds or ms), a column
    mixing decimal years with dates, day/month dates whose order the column does not settle
    (``03/04/2022``) or settles both ways. Dates with a time zone are converted to UTC, with a notice.
    """
    notes = [] if notes is None else notes
    if pd.api.types.is_datetime64_any_dtype(values):
        dates = values
        if getattr(values.dt, "tz", None) is not None:
            dates = values.dt.tz_convert("UTC").dt.tz_localize(None)
            notes.append(f"{source} column {col!r}: dates with a time zone, converted to UTC.")
    elif pd.api.types.is_numeric_dtype(values):
        return _years(values.astype(float), col, source, df)
    else:
        text = values.where(values.isna(), values.astype(str).str.strip())
        numeric = pd.to_numeric(text, errors="coerce")
        if numeric.notna().sum() == text.notna().sum():
            return _years(numeric.astype(float), col, source, df)
        if numeric.notna().any():
            r_num = text.index[numeric.notna()][0]
            r_date = text.index[numeric.isna() & text.notna()][0]
            raise DataError(
                f"{_where(df, source, r_num, col)}: {text[r_num]!r} is a number (a decimal year?) in a column of "
                f"dates (row {r_date}: {text[r_date]!r}); write every value the same way (YYYY-MM-DD)."
            )
        dates = _parse_dates(text, col, source, df, notes)
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


def _years(years: pd.Series, col: str, source: str, df: pd.DataFrame) -> pd.Series:
    lo, hi = YEAR_RANGE
    out = years.notna() & ~years.between(lo, hi)
    if out.any():
        r = years.index[out][0]
        v = float(years[r])
        guess = ""
        for unit, scale in (("seconds", 1.0), ("milliseconds", 1e3)):
            if 1e8 * scale < abs(v) < 1e10 * scale:
                guess = f" It looks like epoch {unit} ({pd.Timestamp(v / scale, unit='s'):%Y-%m-%d}); convert to dates."
        raise DataError(
            f"{_where(df, source, r, col)}: {v:g} is not a year in [{lo:g}, {hi:g}] (decimal years, or dates "
            f"YYYY-MM-DD, are expected).{guess}"
        )
    return years


def _parse_dates(text: pd.Series, col: str, source: str, df: pd.DataFrame, notes: list[str]) -> pd.Series:
    """ISO dates (optionally with a time and zone), or D/M/Y-style dates in one settled order."""
    present = text.dropna()
    slash = present.str.match(_DMY)
    if slash.any():
        parts = present[slash].str.extract(_DMY).astype(int)
        day_first, month_first = parts[0] > 12, parts[1] > 12
        if day_first.any() and month_first.any():
            a, b = parts.index[day_first][0], parts.index[month_first][0]
            raise DataError(
                f"{_where(df, source, a, col)}: {text[a]!r} is day/month but row {b} ({text[b]!r}) is month/day; "
                f"write the dates as YYYY-MM-DD."
            )
        if not day_first.any() and not month_first.any():
            r = parts.index[0]
            raise DataError(
                f"{_where(df, source, r, col)}: {text[r]!r} could be day/month or month/day, and no date in the "
                f"column settles which; write the dates as YYYY-MM-DD."
            )
        notes.append(
            f"{source} column {col!r}: dates read as {'day/month/year' if day_first.any() else 'month/day/year'} "
            f"(the only order that fits every value)."
        )
        fmt = "%d/%m/%Y" if day_first.any() else "%m/%d/%Y"
        normal = present[slash].str.replace(".", "/", regex=False)
        parsed = pd.to_datetime(normal, format=fmt, errors="coerce")
        rest = pd.to_datetime(present[~slash], errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
        if not present[~slash].empty:
            notes.append(f"{source} column {col!r}: mixes YYYY-MM-DD dates with day/month dates.")
        return pd.concat([parsed, rest]).reindex(text.index)
    zoned = present.str.contains(_TZ) & present.str.match(_ISO)
    parsed = pd.to_datetime(present, errors="coerce", format="ISO8601", utc=True).dt.tz_localize(None)
    # other unambiguous spellings: a month name (5 Jan 2023) or year first (2023/01/05)
    other = parsed.isna() & (present.str.contains(r"[A-Za-z]{3}") | present.str.match(r"^\d{4}[/.]"))
    if other.any():
        parsed[other] = pd.to_datetime(present[other], errors="coerce", format="mixed", utc=True).dt.tz_localize(None)
    if zoned.any():
        notes.append(
            f"{source} column {col!r}: {int(zoned.sum())} date(s) carry a time zone; converted to UTC"
            + (" (dates without one are taken as UTC)." if not zoned.all() else ".")
        )
    return parsed.reindex(text.index)


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
    """Scores given in percent (all in [0, 100], most above 1) become fractions, with a notice.

    A few values above 1 among fractions (e.g. one 1.2) are an error, not a reason to divide every
    score by 100.
    """
    finite = values.dropna()
    above = finite > 1.0
    if len(finite) and above.any() and above.mean() < 0.5 and finite.max() <= 100.0:
        rows = list(finite.index[above])
        raise DataError(
            f"{source} row {rows[0]}, column {col!r}: score {_show(finite[rows[0]])} is above 1, but most scores "
            f"are fractions in [0, 1] ({len(rows)} of {len(finite)} above 1: rows {rows[:5]}). Fix these values, "
            f"or pass units={{{col!r}: 'percent'}} if the column is in percent."
        )
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
