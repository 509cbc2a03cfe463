"""Load and validate data for a law: every error names file, row and column.

Rows are never dropped silently. Missing values raise unless ``dropna=True``;
then each excluded row is reported (a warning, and the fit's
``excluded_rows`` attribute) with the reason.

Row numbers in messages: for files, ``row 1`` is the first data row (the line
after the header, so ``row k`` is line ``k + 1``); for DataFrames, the index label.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scaling.data.structure import censor_codes, check_structure
from scaling.data.tables import (
    _jsonable,
    _numeric,
    _show,
    _where,
    convert_units,
    describe_exclusions,
    read_table,
    scores_as_fractions,
    to_decimal_year,
)
from scaling.data.where import mask as where_mask
from scaling.deprecation import renamed
from scaling.errors import DataError
from scaling.models.model import Model


@dataclass
class Prepared:
    """Validated arrays for one problem.

    ``u`` holds the law's inputs after their transform (log10 or decimal year),
    *not yet centred*; ``center`` is the mean of each, ``y_scale`` the geometric
    mean of ``y`` for positive laws (1 for bounded ones).
    """

    u: dict[str, np.ndarray]
    y: np.ndarray
    n_trials: np.ndarray | None
    center: dict[str, float]
    y_scale: float
    raw_x: dict[str, np.ndarray]
    columns: dict[str, Any]
    rows: np.ndarray
    source: str
    excluded: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    y_err: np.ndarray | None = None
    censor: np.ndarray | None = None
    group: np.ndarray | None = None
    groups: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    def centred(self) -> dict[str, np.ndarray]:
        return {k: v - self.center[k] for k, v in self.u.items()}

    def sha256(self) -> str:
        """Hash of what the log-likelihood is of: inputs, y, item counts and censoring codes (so fits
        with and without groups or known errors of the same observations compare by PSIS-LOO)."""
        h = hashlib.sha256()
        for k in sorted(self.raw_x):
            h.update(np.ascontiguousarray(self.raw_x[k], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.y, dtype=np.float64).tobytes())
        for extra in (self.n_trials, self.censor):
            if extra is not None:
                h.update(np.ascontiguousarray(extra, dtype=np.float64).tobytes())
        return h.hexdigest()


def as_frame(data: Any) -> pd.DataFrame:
    """DataFrame from a DataFrame, a CSV path, a registered dataset name, or a dict of equal-length arrays."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str) and not Path(data).exists() and Path(data).suffix == "" and os.sep not in data:
        from scaling.data import registry as datasets

        if data in datasets.names():
            return datasets.load(data)
    if isinstance(data, (str, os.PathLike)):
        return read_table(data)
    if isinstance(data, Mapping):
        try:
            df = pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
        except ValueError as err:
            raise DataError(f"Data columns must have equal lengths: {err}") from None
        df.attrs["source"] = "data"
        return df
    raise DataError(f"data must be a pandas DataFrame, a CSV path or a dict of arrays. Got {type(data).__name__}.")


@renamed(n_trials="trials")
def prepare(
    data: Any,
    model: Model,
    *,
    x: str | Sequence[str],
    y: str,
    trials: str | None = None,
    dropna: bool = False,
    where: str | None = None,
    units: Mapping[str, str] | None = None,
    y_err: str | None = None,
    y_low: str | None = None,
    y_high: str | None = None,
    level: float = 0.95,
    censored: str | None = None,
    group: str | None = None,
    date: str | None = None,
) -> Prepared:
    """Validate ``data`` for ``law`` and return transformed arrays.

    Parameters
    ----------
    data : DataFrame, CSV path, registered dataset name (see :mod:`scaling.datasets`) or dict of arrays.
    model : the :class:`~scaling.models.model.Model` the data will be fitted with (law and likelihood).
    x : column name(s) of the law's inputs, in the order of ``law.inputs``.
    y : column of the observed quantity.
    trials : column with the item count per row (binomial likelihood); ``n_trials`` is its deprecated name.
    dropna : exclude rows with missing values (reported) instead of raising.
    where : keep only rows matching this condition (the safe filter language of
        :mod:`scaling.data.where`: comparisons of columns and literals with and/or/not),
        e.g. ``"frontier == 1"``; the other rows are reported as excluded.
    units : units of columns, e.g. ``{"flop": "log10"}`` or ``{"compute": "pf-days"}``,
        ``{"score": "percent"}`` (see :data:`UNITS`). Input columns named ``log10_*``
        are read as log10 values, and scores of bounded laws given in percent are
        divided by 100; both with a notice.
    y_err : column of each point's known standard error (models with ``measurement_error``): the sd of
        ``ln y`` for positive laws, in units of y otherwise.
    y_low, y_high, level : instead of ``y_err``, a central interval at ``level`` (default 0.95), e.g. METR's
        ``p50_ci_low``/``p50_ci_high``: ``y_err = (ln y_high - ln y_low) / (2 z)`` for positive laws
        (``(y_high - y_low) / (2 z)`` otherwise), ``z`` the standard normal quantile at ``(1 + level) / 2``.
    censored : column of censoring codes (models with ``censored``): ``below`` (or -1: the value is at or
        below y), ``above`` (or 1: at or above y), ``none``, empty or 0 (observed).
    group : column naming each point's group (models with pooled parameters), e.g. ``family``.
    date : release-date column (laws with ``effective_compute``), appended to ``x``.

    Raises
    ------
    DataError : with the source, row and column of the first problem found.
    """
    law, likelihood = model.law, model.likelihood
    df = as_frame(data)
    source = str(df.attrs.get("source", "data"))
    xs = [x] if isinstance(x, str) else list(x)
    extra = check_structure(model, xs, y_err, y_low, y_high, level, censored, group, date)
    if date is not None:
        xs = [*xs, date]
    if len(xs) != len(law.inputs):
        names = [i.name for i in law.inputs]
        raise DataError(
            f"Law {law.name!r} takes {len(law.inputs)} input column(s) ({', '.join(names)}: "
            f"{'; '.join(i.doc for i in law.inputs)}). Got x={xs}."
        )
    if likelihood.counts and trials is None:
        raise DataError("The 'binomial' likelihood needs trials=<column with the item count per row>.")
    needed = [*xs, y] + ([trials] if trials else []) + [c for c in (y_err, y_low, y_high) if c]
    needed += [c for c in (censored, group) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(f"{source}: column(s) {missing} not found. Available columns: {list(df.columns)}.")
    if len(df) == 0:
        raise DataError(f"{source}: the table has no rows.")
    if not df.index.is_unique:
        labels = list(dict.fromkeys(df.index[df.index.duplicated()]))[:5]
        raise DataError(
            f"{source}: the row labels (index) repeat, e.g. {labels}; rows could not be reported or excluded one by "
            f"one. Pass df.reset_index(drop=True)."
        )
    excluded: list[dict[str, Any]] = []
    if where is not None and where != "":
        keep = where_mask(df, where)
        excluded = [{"row": _jsonable(r), "reason": f"not selected by where={where!r}"} for r in df.index[~keep]]
        if not keep.any():
            raise DataError(f"{source}: no rows match where={where!r}.")
        df = df[keep]

    units = dict(units or {})
    unknown = sorted(set(units) - set(needed))
    if unknown:
        raise DataError(f"units given for column(s) {unknown} that the fit does not use ({needed}).")
    notes: list[str] = []
    cols: dict[str, pd.Series] = {}
    for inp, col in zip(law.inputs, xs, strict=True):
        if inp.transform == "year":
            if col in units:
                raise DataError(
                    f"{source} column {col!r} is a date input (dates or decimal years); units={{{col!r}: "
                    f"{units[col]!r}}} does not apply to it. Remove that unit."
                )
            if df[col].isna().all():
                raise DataError(f"{source} column {col!r} is empty (all values missing).")
            cols[col] = to_decimal_year(df[col], col, source, df, notes)
            continue
        unit = units.get(col)
        if unit is None and inp.transform == "log10" and col.lower().startswith("log10"):
            unit = "log10"
            notes.append(
                f"{source} column {col!r}: read as log10 values (from its name); pass "
                f"units={{{col!r}: 'raw'}} if they are not."
            )
        cols[col] = convert_units(_numeric(df, col, source), unit or "raw", col, source)
    cols[y] = convert_units(_numeric(df, y, source), units.get(y, "raw"), y, source)
    if law.bounded and y not in units:
        cols[y] = scores_as_fractions(cols[y], y, source, notes)
    if trials:
        cols[trials] = _numeric(df, trials, source)
    for c in (y_err, y_low, y_high):
        if c:
            cols[c] = convert_units(_numeric(df, c, source), units.get(c, "raw"), c, source)
    if censored:
        cols[censored] = censor_codes(df, censored, source)
    if group:  # codes here (missing -> NaN, so the missing-value rules apply); renumbered on the kept rows
        cols[group] = pd.Series(pd.factorize(df[group])[0], index=df.index).where(df[group].notna())
    table = pd.DataFrame(cols, index=df.index)

    values = table.to_numpy(dtype=float)  # the checks below run on this array (pandas per check is slow)
    column = {c: j for j, c in enumerate(table.columns)}
    if np.isnan(values).any():
        na = table.isna()
        rows = list(table.index[na.any(axis=1)])
        if not dropna:
            r = rows[0]
            c = next(c for c in table.columns if na.loc[r, c])
            raise DataError(
                f"{_where(df, source, r, c)}: value is missing ({len(rows)} row(s) with missing "
                f"values: {rows[:5]}{'...' if len(rows) > 5 else ''}). Fill them, or pass "
                f"dropna=True (CLI: --dropna) to exclude them with a report."
            )
        for r in rows:
            cs = [c for c in table.columns if na.loc[r, c]]
            excluded.append({"row": _jsonable(r), "reason": f"missing value in {cs}"})
        table = table.drop(index=rows)
        values = table.to_numpy(dtype=float)
        warnings.warn(f"{source}: {describe_exclusions(excluded)}", stacklevel=2)

    if "model" in df.columns:
        names = df.loc[table.index, "model"]
        repeated = names[names.duplicated(keep=False) & names.notna()]
        for name in list(dict.fromkeys(repeated))[:5]:
            rows = list(repeated.index[repeated == name])
            notes.append(f"{source}: model {name!r} appears in rows {rows} (kept; drop or rename duplicates).")
    _, inverse, counts = np.unique(values, axis=0, return_inverse=True, return_counts=True)
    dup = pd.Series(counts[inverse.ravel()] > 1, index=table.index)
    if dup.any():
        groups = table[dup].groupby(list(table.columns), sort=False).groups
        pairs = "; ".join("rows " + ", ".join(str(r) for r in rows) for rows in list(groups.values())[:5])
        notes.append(f"{source}: identical values in {pairs} (kept; remove them if they are copies).")
    for note in notes:
        warnings.warn(note, stacklevel=2)
    for j, col in enumerate(table.columns):
        inf = ~np.isfinite(values[:, j])
        if inf.any():
            r = table.index[inf][0]
            raise DataError(f"{_where(df, source, r, col)}: value {_show(table.loc[r, col])} is not finite.")
    for inp, col in zip(law.inputs, xs, strict=True):
        if inp.transform == "log10":
            rule = "expected a positive number (the law uses log10 of it)"
            _require(table, col, values[:, column[col]] > 0, rule, df, source)
    yv = values[:, column[y]]
    if law.log_output or likelihood.needs_positive_law:
        _require(table, y, yv > 0, f"law {law.name!r} needs y > 0 (it is modelled on a log scale)", df, source)
    if law.bounded:
        hint = " (scores are fractions in [0, 1], or percentages in [0, 100])"
        _require(table, y, (yv >= 0) & (yv <= 1), "expected a score in [0, 1]" + hint, df, source)
    if likelihood.name == "beta":
        y32 = yv.astype(np.float32)  # the sampler's precision: 1 - 1e-9 would become 1
        _require(
            table,
            y,
            (y32 > 0) & (y32 < 1),
            "the 'beta' likelihood needs scores strictly between 0 and 1 (also in float32, the sampler's "
            "precision; its density is 0 or infinite at 0 and 1); use 'binomial' with trials= (counts of 0 "
            "and n are ordinary observations there), or mark such points with censored= and a likelihood "
            "that has a CDF ('binomial', 'normal')",
            df,
            source,
        )
    if trials:
        nt = values[:, column[trials]]
        _require(table, trials, (nt >= 1) & (nt == np.round(nt)), "expected a positive whole item count", df, source)

    for col in xs:
        v = values[:, column[col]]
        if len(v) > 1 and np.all(v == v[0]):
            raise DataError(
                f"{source} column {col!r}: every usable row has the same value ({_show(v[0])}); a law cannot "
                f"be fitted along an input that does not vary. Check the column (and where=/dropna)."
            )
    n_par = len(law.params) + len(likelihood.params)
    if len(table) <= n_par:
        raise DataError(
            f"{source}: {len(table)} usable row(s) for {n_par} parameters (law {law.name!r} with "
            f"likelihood {likelihood.name!r}); a fit needs more points than parameters."
        )

    u = {
        inp.name: np.log10(table[c].to_numpy(dtype=float))
        if inp.transform == "log10"
        else table[c].to_numpy(dtype=float).copy()
        for inp, c in zip(law.inputs, xs, strict=True)
    }
    yarr = table[y].to_numpy(dtype=float).copy()
    err = _y_err(table, df, source, yarr, law.log_output, y_err, y_low, y_high, level)
    codes, names = None, []
    if group:
        codes, uniques = pd.factorize(df.loc[table.index, group].astype(str), sort=True)
        names = [str(v) for v in uniques]
    y_scale = float(np.exp(np.mean(np.log(yarr)))) if law.log_output else 1.0
    return Prepared(
        u=u,
        y=yarr,
        n_trials=table[trials].to_numpy(dtype=float).copy() if trials else None,
        center={k: float(np.mean(v)) for k, v in u.items()},
        y_scale=y_scale,
        raw_x={inp.name: table[c].to_numpy(dtype=float).copy() for inp, c in zip(law.inputs, xs, strict=True)},
        columns={"x": xs, "y": y, "n_trials": trials, **extra},
        rows=np.asarray(table.index),
        source=source,
        excluded=excluded,
        notes=notes,
        y_err=err,
        censor=table[censored].to_numpy(dtype=float).copy() if censored else None,
        group=None if codes is None else np.asarray(codes, dtype=np.int64),
        groups=names,
    )


def _y_err(table, df, source, y, log_scale, y_err, y_low, y_high, level) -> np.ndarray | None:
    """Each point's standard error: the ``y_err`` column, or from the interval ``[y_low, y_high]`` at
    ``level`` (normal quantiles; on ``ln y`` when ``log_scale``)."""
    from scipy.stats import norm

    if y_err is not None:
        s = table[y_err].to_numpy(dtype=float)
        _require(table, y_err, s >= 0, "expected a standard error >= 0", df, source)
        return s.copy()
    if y_low is None:
        return None
    lo, hi = table[y_low].to_numpy(dtype=float), table[y_high].to_numpy(dtype=float)
    if log_scale:
        _require(table, y_low, lo > 0, "expected a positive lower bound (the interval is read on log y)", df, source)
    _require(table, y_low, lo <= y, "expected a lower bound at or below y", df, source)
    _require(table, y_high, hi >= y, "expected an upper bound at or above y", df, source)
    z = float(norm.ppf(0.5 + float(level) / 2.0))
    return (np.log(hi) - np.log(lo)) / (2 * z) if log_scale else (hi - lo) / (2 * z)


def _require(table: pd.DataFrame, col: str, ok: Any, rule: str, df: pd.DataFrame, source: str) -> None:
    """Raise naming the first row of ``table`` where the boolean array ``ok`` is false."""
    bad = ~np.asarray(ok)
    if bad.any():
        rows = list(table.index[bad])
        r = rows[0]
        more = f" ({len(rows)} such rows: {rows[:5]}{'...' if len(rows) > 5 else ''})" if len(rows) > 1 else ""
        raise DataError(f"{_where(df, source, r, col)}: {rule}; got {_show(table.loc[r, col])}{more}.")
