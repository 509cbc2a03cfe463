"""The per-point columns a model's structure needs (see :class:`~scaling.models.model.Model`):
known measurement errors, censoring codes, groups and release dates, checked against what the
caller gave; used by :func:`scaling.data.preparation.prepare`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scaling.data.tables import _show, _where
from scaling.errors import DataError
from scaling.models.model import Model


def check_structure(model: Model, xs, y_err, y_low, y_high, level, censored, group, date) -> dict[str, Any]:
    """The per-point columns the model's structure needs, checked against the ones given; returns
    those given (for the fit's recorded columns)."""
    law = model.law
    effective = dict(law.options).get("effective_compute", False)
    if date is not None and not effective:
        raise DataError(
            f"date={date!r} is the input of effective compute; law {law.name!r} was resolved without it "
            f"(law_options={{'effective_compute': True}}, or pass date= to fit)."
        )
    if effective and date is None and len(xs) != len(law.inputs):
        raise DataError(f"Law {law.name!r} with effective compute needs date=<release-date column>.")
    interval = y_low is not None or y_high is not None
    if interval and (y_low is None or y_high is None):
        raise DataError("A measurement interval needs both y_low= and y_high= columns.")
    if interval and y_err is not None:
        raise DataError("Give either y_err= (a standard error) or y_low=/y_high= (an interval), not both.")
    if interval and not 0.0 < float(level) < 1.0:
        raise DataError(f"level must be in (0, 1) (e.g. 0.95 for a 95% interval). Got {level!r}.")
    if model.measurement_error != (y_err is not None or interval):
        raise DataError(
            "The model has known measurement error but no y_err= (or y_low=/y_high=) column was given."
            if model.measurement_error
            else "y_err= (or y_low=/y_high=) was given for a model resolved without measurement_error=True."
        )
    if model.censored != (censored is not None):
        raise DataError(
            "The model is censored but no censored= column was given."
            if model.censored
            else "censored= was given for a model resolved without censored=True."
        )
    if bool(model.pooled) != (group is not None):
        raise DataError(
            f"The model pools {list(model.pooled_names)} by group but no group= column was given."
            if model.pooled
            else "group= was given but no parameter is pooled (pooled=('log_y0',), say)."
        )
    given = {"y_err": y_err, "y_low": y_low, "y_high": y_high, "censored": censored, "group": group, "date": date}
    out: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if interval:
        out["level"] = float(level)
    return out


CENSOR_CODES = {"below": -1.0, "-1": -1.0, "above": 1.0, "1": 1.0, "none": 0.0, "0": 0.0, "": 0.0}


def censor_codes(df: pd.DataFrame, col: str, source: str) -> pd.Series:
    """Censoring column -> -1 (below), 0 (observed) or 1 (above); other entries raise naming the row."""
    raw = df[col]
    text = raw.map(lambda v: "" if pd.isna(v) else (str(int(v)) if isinstance(v, (int, float)) else str(v)))
    text = text.str.strip().str.lower()
    bad = ~text.isin(list(CENSOR_CODES))
    if bad.any():
        r = raw.index[bad][0]
        raise DataError(
            f"{_where(df, source, r, col)}: censoring code {_show(raw.loc[r])} is not one of "
            f"'below', 'above', 'none' (or -1, 1, 0; empty = observed)."
        )
    return text.map(CENSOR_CODES).astype(float)
