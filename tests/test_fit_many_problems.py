"""fit_many's problems one by one: a one-dataset batch keeps per-problem attrs (select_problem
works on it), and an invalid dataset is named by its key, also when the datasets share a CSV."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import scaling
from scaling.errors import DataError

SETTINGS = {"num_warmup": 200, "num_samples": 200, "num_chains": 2, "seed": 0}


def table(n: int = 20, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.logspace(18, 23, n)
    keep = np.ones(n, dtype=int)
    keep[[3, 7]] = 0
    return pd.DataFrame(
        {"flop": x, "loss": 3.0 * (x / 1e18) ** -0.15 * np.exp(0.03 * rng.normal(size=n)), "keep": keep}
    )


def test_select_problem_on_a_one_dataset_fit_many():
    many = scaling.fit_many({"only": table()}, "power_law", x="flop", y="loss", where="keep == 1", **SETTINGS)
    one = scaling.select_problem(many, "only")  # raised JSONDecodeError when the attrs collapsed to one value
    excluded = json.loads(one.attrs["excluded_rows"])
    assert [e["row"] for e in excluded] == [3, 7]
    assert json.loads(one.attrs["notices"]) == []
    assert one.attrs["data_sha256"] == json.loads(many.attrs["data_sha256"])[0]
    assert dict(one.posterior["alpha"].sizes) == {"chain": 2, "draw": 200}
    assert abs(float(one.posterior["alpha"].mean()) - 0.15) < 0.03
    assert scaling.summary(one).loc["alpha", "r_hat"] < 1.05


def test_invalid_dataset_is_named_by_its_key(tmp_path):
    bad = table()
    bad.loc[5, "loss"] = -1.0
    with pytest.raises(DataError, match=r"fit_many: dataset 'second': .*loss") as err:
        scaling.fit_many({"first": table(), "second": bad}, "power_law", x="flop", y="loss", **SETTINGS)
    assert "'first'" not in str(err.value)
    shared = tmp_path / "shared.csv"
    pd.concat([table().assign(group="a"), bad.assign(group="b")]).to_csv(shared, index=False)
    frames = {g: pd.read_csv(shared).query(f"group == {g!r}") for g in ("a", "b")}
    with pytest.raises(DataError, match=r"fit_many: dataset 'b': "):
        scaling.fit_many(frames, "power_law", x="flop", y="loss", **SETTINGS)
