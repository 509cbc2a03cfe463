"""Datasets: shipped tables, the registry, bad files and malformed CSVs."""

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaling.data import DataError, prepare
from scaling.data import registry as datasets
from scaling.models.laws import get_law
from scaling.models.likelihoods import get_likelihood
from scaling.models.model import Model

from .conftest import REPO

BAD = Path(__file__).parent / "fixtures" / "bad"
PL, LN = get_law("power_law"), get_likelihood("lognormal")
LOGISTIC, NORMAL = get_law("logistic"), get_likelihood("normal")

# Documented columns (datasets/README.md) and a plausible range per unit, as a units check.
EXPECTED = {
    "chinchilla": {
        "parameters": (1e7, 2e10),
        "training_tokens": (1e8, 1e13),
        "training_flop": (1e17, 1e23),
        "loss": (1.5, 6.0),
    },
    "obsscaling": {
        "parameters": (1e7, 2e12),
        "training_tokens": (1e9, 3e13),
        "training_flop": (1e18, 1e26),
        "mmlu": (0.0, 1.0),
    },
    "gadre2024": {
        "parameters": (1e6, 1e11),
        "training_tokens": (1e7, 1e13),
        "training_flop": (1e14, 1e24),
        "loss_c4": (1.0, 8.0),
    },
    "metr_horizons": {"p50_minutes": (1e-3, 1e3), "frontier": (0, 1)},
    "epoch_models": {"training_flop": (1.0, 1e28), "parameters": (1.0, 1e14)},
    "epoch_benchmarks": {"training_flop": (1e15, 1e28)},
    "epoch_mmlu": {"mmlu": (0.2, 1.0)},
    "ai_revenue": {"revenue_usd": (1e6, 1e12)},
    "colpret_gpt3": {
        "parameters": (1e8, 2e11),
        "training_tokens": (1e9, 3.1e11),
        "train_loss": (1.0, 8.0),
        "val_loss": (1.0, 8.0),
    },
    "colpret_opt": {"parameters": (1e8, 2e11), "training_tokens": (1e8, 1e12), "perplexity": (1.0, 1e4)},
    "colpret_datablations": {"parameters": (1e6, 1e11), "training_tokens": (1e8, 1e12), "loss": (1.0, 12.0)},
    "time_horizons": {"p50_minutes": (1e-3, 1e3), "p50_ci_low": (1e-4, 1e3), "frontier": (0, 1)},
    "frontier_models": {
        "training_flop": (1e20, 1e27),
        "parameters": (1e9, 3e12),
        "training_tokens": (1e10, 5e13),
        "mmlu": (0.25, 1.0),
        "gpqa_diamond": (0.0, 1.0),
        "swe_bench_verified": (0.0, 1.0),
    },
    "lab_revenue": {"revenue_usd": (1e6, 1e11)},
}


@pytest.mark.parametrize("name", datasets.names())
def test_every_registry_entry_loads_with_documented_columns(name):
    entry = datasets.info(name)
    df = datasets.load(name)  # a dataset neither mirrored, cached nor downloadable fails, it is not skipped
    assert list(df.columns)[: len(entry["columns"])] == list(entry["columns"])
    assert len(df) > 10 and df.attrs["citation"] and df.attrs["licence"]
    for col, (lo, hi) in EXPECTED.get(name, {}).items():
        values = df[col].dropna()
        assert len(values) > 0 and values.min() >= lo and values.max() <= hi, (name, col, values.min(), values.max())
    readme = (REPO / "datasets" / "README.md").read_text()
    assert f"`{name}`" in readme, f"datasets/README.md does not document {name}"


def test_chinchilla_registry_matches_reference_fit_subset():
    df = datasets.load("chinchilla")
    assert len(df) == 245 and int(df["excluded"].sum()) == 5
    np.testing.assert_allclose(df["training_tokens"], df["training_flop"] / (6 * df["parameters"]), rtol=1e-6)
    # the flag is Besiroglu et al.'s rule, loss < sorted(loss)[-5] kept: exactly the 5 highest losses
    assert set(df.loc[df["excluded"] == 1].index) == set(df["loss"].nlargest(5).index)


def test_registered_subset_is_a_filter_and_reported():
    """epoch_models is the pre-2025 part of Epoch's snapshot whether the file is the full upstream or trimmed."""
    df = datasets.load("epoch_models")
    assert df["release_date"].max() < pd.Timestamp("2025-01-01") and len(df) == 1754
    assert "Publication date on or after 2025-01-01 left out" in df.attrs["subset"]
    assert datasets.load("chinchilla").attrs["subset"] == ""


@pytest.mark.parametrize("name", [n for n in datasets.names() if datasets.info(n).get("shipped")])
def test_shipped_tables_cite_every_row(name):
    df = datasets.load(name)
    cols = ["compute_source"] if name == "frontier_models" else ["source"]
    for col in cols:
        assert df[col].notna().all() and (df[col].str.len() > 10).all(), col
    if name == "frontier_models":
        scored = df[["mmlu", "gpqa_diamond", "swe_bench_verified"]].notna().any(axis=1)
        assert (df.loc[scored, "benchmark_source"].str.len() > 10).all()
        assert len(df) >= 40 and df["training_flop"].notna().sum() >= 40
        assert (df["release_date"] >= "2019-01-01").all()
    if name == "lab_revenue":
        assert set(df["kind"]) <= {"run-rate", "annual"}


def _documented(column: str) -> set[str]:
    """Models whose `column` differs from the shared data with a reason (datasets/CROSSCHECK.md)."""
    text = (REPO / "datasets" / "CROSSCHECK.md").read_text()
    out = set()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[1] == column:
            out.update(m.strip() for m in cells[0].split(","))
    return out


def test_frontier_models_cross_check_with_epoch():
    """Training compute within 10% and parameters within 10% of Epoch's snapshot, where both exist."""
    ours = datasets.load("frontier_models").set_index("model")
    epoch = datasets.load("epoch_models")  # the registered pre-2025 snapshot, on the mirror and upstream alike
    epoch = epoch.drop_duplicates("model").set_index("model")
    both = ours.index.intersection(epoch.index)
    assert len(both) >= 30
    for col in ("training_flop", "parameters"):
        pairs = pd.DataFrame({"ours": ours.loc[both, col], "theirs": epoch.loc[both, col]}).dropna()
        assert len(pairs) >= 25, col
        rel = (pairs["ours"] / pairs["theirs"] - 1).abs()
        off = rel[rel > 0.10].index.difference(list(_documented(col)))
        assert off.empty, f"{col} differs by more than 10% from Epoch for {list(off)} (document it or fix it)"


def test_frontier_models_mmlu_cross_check():
    """MMLU within 1 point of a shared published value, or the difference is documented."""
    ours = datasets.load("frontier_models").dropna(subset=["mmlu"]).set_index("model")["mmlu"]
    published = datasets.load("epoch_mmlu").groupby("model")["mmlu"].apply(list)
    matched = [m for m in ours.index if m in published.index]
    assert len(matched) >= 8
    documented = _documented("mmlu")
    for model in matched:
        close = min(abs(ours[model] - v) for v in published[model]) <= 0.01
        assert close or model in documented, f"{model}: MMLU {ours[model]} vs {published[model]}"


def test_lab_revenue_cross_check_and_hold_out():
    ours = datasets.load("lab_revenue")
    assert ours["date"].max() < pd.Timestamp("2025-07-15")  # the shared revenue hold-out stays blind
    theirs = datasets.load("ai_revenue")
    matched = 0
    for _, row in ours.iterrows():
        near = theirs[(theirs["company"] == row["company"]) & ((theirs["date"] - row["date"]).abs().dt.days <= 31)]
        if len(near) and row["kind"] == "run-rate":
            rel = (near["revenue_usd"] / row["revenue_usd"] - 1).abs().min()
            matched += rel <= 0.10
    assert matched >= 12


def test_time_horizons_cross_check_with_shared_metr():
    ours = datasets.load("time_horizons")
    theirs = datasets.load("metr_horizons")
    for _, row in ours.iterrows():
        same_day = theirs[theirs["release_date"] == row["release_date"]]
        rel = (same_day["p50_minutes"] / row["p50_minutes"] - 1).abs()
        assert (rel < 0.01).any(), f"{row['model']}: p50 {row['p50_minutes']} not in METR's table for that date"


def test_unknown_dataset_and_fit_by_name():
    with pytest.raises(DataError, match="Unknown dataset 'chinchila'. Known datasets: chinchilla"):
        datasets.load("chinchila")
    prep = prepare(
        "chinchilla",
        Model(get_law("chinchilla"), LN),
        x=["parameters", "training_tokens"],
        y="loss",
        where="excluded == 0",
    )
    assert prep.n == 240 and len(prep.excluded) == 5


def test_registry_table_with_duplicate_key_is_an_error(monkeypatch, tmp_path):
    entry = {
        "shipped": True,
        "path": str(BAD / "duplicated_model.csv"),
        "key": "model",
        "columns": {"model": "model", "training_flop": "training_flop", "loss": "loss"},
        "citation": "x",
    }
    monkeypatch.setitem(datasets.registry(), "dups", entry)
    with pytest.raises(DataError, match=r"rows \[2, 4\], column 'model': 'B' appears 2 times"):
        datasets.load("dups")


# ------------------------------------------------------------------ realistic bad files
def _fit_prepare(name, law=PL, lik=LN, x="training_flop", y="loss"):
    return prepare(BAD / name, Model(law, lik), x=x, y=y)


def test_bad_negative_flop():
    with pytest.raises(
        DataError,
        match=r"negative_flop.csv row 2 \(line 3\), column 'training_flop': expected a "
        r"positive number .*got -3e\+21",
    ):
        _fit_prepare("negative_flop.csv")


def test_bad_percent_scores_are_converted_with_notice():
    with pytest.warns(UserWarning, match=r"column 'mmlu': scores look like percentages \(max 84\); divided by 100"):
        prep = _fit_prepare("percent_scores.csv", LOGISTIC, NORMAL, y="mmlu")
    assert prep.y.max() == pytest.approx(0.84)


def test_bad_string_in_numeric_column():
    with pytest.raises(
        DataError,
        match=r"row 2 \(line 3\), column 'training_flop': expected a number, "
        r"got '2.1e21 FLOP'",
    ):
        _fit_prepare("string_in_numeric.csv")


def test_bad_duplicated_model_is_reported():
    with pytest.warns(UserWarning, match=r"model 'B' appears in rows \[2, 4\]"):
        prep = _fit_prepare("duplicated_model.csv")
    assert prep.n == 5  # nothing dropped


def test_bad_empty_file():
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        _fit_prepare("empty.csv")


def test_bad_wrong_delimiter():
    with pytest.raises(DataError, match="looks ';'-separated"):
        _fit_prepare("semicolon.csv")


def test_bad_ragged_row():
    with pytest.raises(DataError, match="not a well-formed CSV.*line 3"):
        _fit_prepare("ragged_row.csv")


def test_bad_date():
    with pytest.raises(DataError, match=r"row 2 \(line 3\), column 'release_date': expected a date"):
        _fit_prepare("bad_date.csv", get_law("exponential_trend"), LN, x="release_date", y="p50_minutes")


# ------------------------------------------------------------------ property test
CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "abc", "1e400", "-0", "NaN", "inf", '"1,5"', "%", "2024-01-01", " 3 ", "1e21 FLOP", '"']),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.sampled_from(["flop,loss", "flop,loss,model", "loss,flop", "flop;loss", "x,y", "flop,flop,loss"]),
    rows=st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=12),
    bounded=st.booleans(),
)
def test_malformed_csv_never_crashes(header, rows, bounded):
    text = header + "\n" + "\n".join(",".join(r) for r in rows) + ("\n" if rows else "")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "random.csv"
        path.write_bytes(text.encode("utf-8", errors="replace"))
        law, lik = (LOGISTIC, NORMAL) if bounded else (PL, LN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                prep = prepare(path, Model(law, lik), x="flop", y="loss")
            except DataError as e:
                assert "random.csv" in str(e) or "column" in str(e), str(e)
            else:
                assert np.isfinite(prep.y).all() and prep.n > len(law.params)
