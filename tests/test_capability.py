"""The capability index: the hub loader, recovery of known (theta, a, b, c), agreement with ECI."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from scaling.data.hub import LONG_COLUMNS, load_hub, long_table
from scaling.errors import DataError, ScalingError


@pytest.fixture(scope="module")
def hub():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_hub()


def test_hub_is_one_long_table_with_every_drop_reported(hub):
    assert list(hub.columns) == list(LONG_COLUMNS)
    assert hub["score"].between(0, 1).all() and not hub.duplicated(["model", "benchmark"]).any()
    assert hub["benchmark"].nunique() >= 35 and hub["model"].nunique() >= 150
    assert (hub.groupby("model")["benchmark"].nunique() >= 4).all()
    assert hub["date"].min() >= pd.Timestamp("2022-11-01")
    # reasoning-effort variants stay separate model versions
    assert {"o3-2025-04-16_high", "o3-2025-04-16_medium"} <= set(hub["model"])
    # percent strings became fractions: MMLU of GPT-4 (0314) is 86.4% in the hub's external table
    assert hub.loc[(hub["model"] == "gpt-4-0314") & (hub["benchmark"] == "MMLU"), "score"].iloc[0] == pytest.approx(
        0.864
    )
    # internal runs carry their reported standard errors
    assert hub.loc[hub["source"] == "Epoch evaluations", "stderr"].notna().mean() > 0.9
    dropped = hub.attrs["dropped"]
    reasons = set(dropped["reason"])
    assert any(r.startswith("repeat of a (model, benchmark) pair") for r in reasons)
    assert any("fewer than 4 benchmarks" in r for r in reasons)
    assert {"file", "row", "model", "benchmark", "reason"} <= set(dropped.columns)


def test_hub_duplicates_keep_the_highest_score(hub):
    dropped = hub.attrs["dropped"]
    rep = dropped[dropped["reason"].str.startswith("repeat")]
    kept = hub.set_index(["model", "benchmark"])["score"]
    pairs = rep.set_index(["model", "benchmark"])["score"]
    assert (kept.reindex(pairs.index).to_numpy() >= pairs.to_numpy()).all()


def test_long_table_refuses_bad_rows():
    with pytest.raises(DataError, match="row 1"):
        long_table(pd.DataFrame({"model": ["a", "b"], "benchmark": ["x", "x"], "score": [0.5, 1.7]}))
    with pytest.raises(DataError, match="repeats"):
        long_table(pd.DataFrame({"model": ["a", "a"], "benchmark": ["x", "x"], "score": [0.5, 0.6]}))
    with pytest.raises(DataError, match="required"):
        long_table(pd.DataFrame({"model": ["a"], "score": [0.5]}))
    with pytest.raises(DataError, match="duplicates"):
        load_hub(duplicates="first")
    assert np.isnan(long_table(pd.DataFrame({"model": ["a"], "benchmark": ["x"], "score": [0.5]}))["stderr"]).all()


def test_fit_index_refuses_unknown_anchors():
    from scaling.analysis.capability import fit_index

    df = pd.DataFrame({"model": ["a", "b", "c"], "benchmark": ["x"] * 3, "score": [0.2, 0.5, 0.8]})
    with pytest.raises(ScalingError, match="not in the table"):
        fit_index(df, anchors=(("a", 0.0), ("zz", 1.0)))
    with pytest.raises(ScalingError, match="likelihood"):
        fit_index(df, likelihood="normal")
