"""Bad input gets a clear error naming file, row and column; nothing is dropped silently."""

import numpy as np
import pandas as pd
import pytest

from scaling.data import DataError, prepare, read_table
from scaling.models.laws import get_law
from scaling.models.likelihoods import get_likelihood
from scaling.models.model import Model

PL = get_law("power_law")
LN = get_likelihood("lognormal")


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def good_rows(n=8, start=0):
    return "".join(f"{10.0 ** (18 + i)},{3.0 - 0.1 * i}\n" for i in range(start, start + n))


def test_non_numeric_names_file_row_and_column(tmp_path):
    p = write(tmp_path, "flop,loss\n" + good_rows(4) + "1e22,abc\n" + good_rows(3, 5))
    with pytest.raises(DataError, match=r"d\.csv row 5 \(line 6\), column 'loss': expected a number, got 'abc'"):
        prepare(p, Model(PL, LN), x="flop", y="loss")


def test_non_positive_compute_for_log_law(tmp_path):
    p = write(tmp_path, "flop,loss\n" + good_rows(3) + "-3e21,2.0\n" + good_rows(5, 4))
    with pytest.raises(DataError, match=r"row 4 \(line 5\), column 'flop': expected a positive number"):
        prepare(p, Model(PL, LN), x="flop", y="loss")


def test_non_positive_loss(tmp_path):
    p = write(tmp_path, "flop,loss\n" + good_rows(6) + "1e30,0\n")
    with pytest.raises(DataError, match=r"row 7 .*column 'loss'.*needs y > 0"):
        prepare(p, Model(PL, LN), x="flop", y="loss")


def test_missing_values_raise_or_are_reported(tmp_path):
    p = write(tmp_path, "flop,loss\n" + good_rows(3) + "1e22,\n" + good_rows(5, 4))
    with pytest.raises(DataError, match=r"row 4 .*column 'loss': value is missing.*dropna=True"):
        prepare(p, Model(PL, LN), x="flop", y="loss")
    with pytest.warns(UserWarning, match=r"excluded 1 row\(s\): missing value in \['loss'\] \(rows 4\)"):
        prep = prepare(p, Model(PL, LN), x="flop", y="loss", dropna=True)
    assert prep.n == 8 and prep.excluded == [{"row": 4, "reason": "missing value in ['loss']"}]
    assert 4 not in prep.rows


def test_empty_column_missing_column_and_empty_file(tmp_path):
    p = write(tmp_path, "flop,loss\n" + "".join(f"{10.0 ** (18 + i)},\n" for i in range(5)))
    with pytest.raises(DataError, match="column 'loss' is empty"):
        prepare(p, Model(PL, LN), x="flop", y="loss")
    p = write(tmp_path, "flop,loss\n" + good_rows(5))
    with pytest.raises(DataError, match=r"column\(s\) \['compute'\] not found. Available columns: \['flop', 'loss'\]"):
        prepare(p, Model(PL, LN), x="compute", y="loss")
    with pytest.raises(DataError, match="the file is empty"):
        read_table(write(tmp_path, "", "empty.csv"))
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "nope.csv")


def test_too_few_points():
    with pytest.raises(DataError, match=r"3 usable row\(s\) for 3 parameters"):
        prepare({"flop": [1e18, 1e19, 1e20], "loss": [3, 2.5, 2.2]}, Model(PL, LN), x="flop", y="loss")


def test_percent_scores_converted_with_notice_and_out_of_range():
    lg, beta = get_law("logistic"), get_likelihood("beta")
    df = pd.DataFrame({"c": np.logspace(20, 25, 8), "acc": [30, 35, 40, 50, 60, 70, 75, 80]})
    with pytest.warns(UserWarning, match=r"column 'acc': scores look like percentages \(max 80\); divided by 100"):
        prep = prepare(df, Model(lg, beta), x="c", y="acc")
    assert prep.y.max() == pytest.approx(0.8) and "percentages" in prep.notes[0]
    df["acc"] = [30, 35, 40, 50, 60, 70, 75, 180]
    with pytest.raises(DataError, match=r"row 7, column 'acc': expected a score.*got 180 \(1 such row"):
        prepare(df, Model(lg, beta), x="c", y="acc")


def test_beta_edges_and_binomial_needs_items():
    lg, beta = get_law("logistic"), get_likelihood("beta")
    df = pd.DataFrame({"c": np.logspace(20, 25, 8), "acc": [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8]})
    with pytest.raises(DataError, match=r"strictly between 0 and 1 \(also in float32.*; use 'binomial'"):
        prepare(df, Model(lg, beta), x="c", y="acc")
    # 1 - 1e-9 is below 1 in float64 but 1 in float32, where the sampler's log(1 - y) would be -inf
    near = df.assign(acc=[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 1 - 1e-9])
    with pytest.raises(DataError, match="row 7, column 'acc'.*strictly between 0 and 1"):
        prepare(near, Model(lg, beta), x="c", y="acc")
    assert prepare(near.assign(acc=near["acc"].clip(upper=0.999)), Model(lg, beta), x="c", y="acc").n == 8
    with pytest.raises(DataError, match="needs trials="):
        prepare(df, Model(lg, get_likelihood("binomial")), x="c", y="acc")


def test_units_log10_and_pf_days():
    flop = np.logspace(20, 24, 8)
    loss = 3.0 * (flop / 1e20) ** -0.05
    ref = prepare({"flop": flop, "loss": loss}, Model(PL, LN), x="flop", y="loss")
    with pytest.warns(UserWarning, match="read as log10 values"):
        by_name = prepare({"log10_flop": np.log10(flop), "loss": loss}, Model(PL, LN), x="log10_flop", y="loss")
    np.testing.assert_allclose(by_name.u["x"], ref.u["x"])
    explicit = prepare({"c": flop / 8.64e19, "loss": loss}, Model(PL, LN), x="c", y="loss", units={"c": "pf-days"})
    np.testing.assert_allclose(explicit.u["x"], ref.u["x"])
    with pytest.raises(DataError, match="unknown unit 'exaflop'"):
        prepare({"c": flop, "loss": loss}, Model(PL, LN), x="c", y="loss", units={"c": "exaflop"})
    with pytest.raises(DataError, match="does not use"):
        prepare({"c": flop, "loss": loss}, Model(PL, LN), x="c", y="loss", units={"other": "log10"})


def test_dates_and_where_filter(tmp_path):
    law = get_law("exponential_trend")
    rows = "".join(f"m{i},{2019 + i}-07-02,{2.0**i},{i % 2}\n" for i in range(8))
    p = write(tmp_path, "model,date,h,keep\n" + rows)
    prep = prepare(p, Model(law, LN), x="date", y="h", where="keep == 1")
    assert prep.n == 4
    assert prep.u["t"][0] == pytest.approx(2020.5, abs=0.01)
    assert [e["row"] for e in prep.excluded] == [1, 3, 5, 7]
    bad = write(tmp_path, "date,h\n" + "".join(f"2020-01-0{i + 1},{i + 1}\n" for i in range(5)) + "soon,3\n", "b.csv")
    with pytest.raises(DataError, match=r"row 6 \(line 7\), column 'date': expected a date"):
        prepare(bad, Model(law, LN), x="date", y="h")
    with pytest.raises(DataError, match="cannot apply where"):
        prepare(p, Model(law, LN), x="date", y="h", where="keep ===")


def test_datetime_columns_become_decimal_years():
    law = get_law("exponential_trend")
    dates = pd.to_datetime(["2020-01-01", "2021-07-02", "2022-01-01", "2023-01-01", "2024-01-01"])
    prep = prepare(pd.DataFrame({"d": dates, "h": [1.0, 2.0, 4.0, 8.0, 16.0]}), Model(law, LN), x="d", y="h")
    np.testing.assert_allclose(prep.u["t"], [2020.0, 2021.5, 2022.0, 2023.0, 2024.0], atol=0.01)


def test_wrong_number_of_inputs():
    with pytest.raises(DataError, match="takes 2 input column"):
        prepare({"n": [1.0] * 9, "loss": [1.0] * 9}, Model(get_law("chinchilla"), LN), x="n", y="loss")


def test_checks_name_the_first_bad_row_with_numeric_columns():
    """dict-of-arrays input (numeric columns, the fast path): the same row/column messages as a CSV's."""
    x, y = 10.0 ** np.arange(18.0, 26.0), np.linspace(3.0, 2.0, 8)
    with pytest.raises(DataError, match=r"data row 2, column 'loss': value inf is not finite"):
        prepare({"flop": x, "loss": np.where(np.arange(8) == 2, np.inf, y)}, Model(PL, LN), x="flop", y="loss")
    with pytest.raises(
        DataError, match=r"data row 3, column 'flop': expected a positive number .* \(2 such rows: \[3, 5\]\)"
    ):
        prepare({"flop": np.where(np.isin(np.arange(8), [3, 5]), 0.0, x), "loss": y}, Model(PL, LN), x="flop", y="loss")
    with pytest.raises(DataError, match="column 'loss' is empty"):
        prepare({"flop": x, "loss": np.full(8, np.nan)}, Model(PL, LN), x="flop", y="loss")
    counts = {"flop": x, "score": np.full(8, 0.5), "n": np.r_[np.full(7, 100.0), 12.5]}
    with pytest.raises(DataError, match=r"data row 7, column 'n': expected a positive whole item count; got 12\.5"):
        prepare(counts, Model(get_law("logistic"), get_likelihood("binomial")), x="flop", y="score", trials="n")
    ints = prepare({"flop": 10 ** np.arange(10, 18, dtype=np.int64), "loss": y}, Model(PL, LN), x="flop", y="loss")
    np.testing.assert_allclose(ints.raw_x["x"], 10.0 ** np.arange(10, 18))


def test_identical_rows_are_noted_with_their_rows():
    x, y = 10.0 ** np.arange(18.0, 26.0), np.linspace(3.0, 2.0, 8)
    x[6], y[6] = x[1], y[1]  # row 6 copies row 1
    x[7] = x[3]  # same x as row 3, another y: not a copy
    with pytest.warns(UserWarning, match=r"identical values in rows 1, 6 \(kept"):
        prep = prepare({"flop": x, "loss": y}, Model(PL, LN), x="flop", y="loss")
    assert prep.n == 8 and [n for n in prep.notes if "identical" in n] == [
        "data: identical values in rows 1, 6 (kept; remove them if they are copies)."
    ]
