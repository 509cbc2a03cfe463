"""Hostile-but-realistic inputs: each is refused with a message naming what and where, or read with a
reported notice; never a silent change, a raw traceback, or a file touched outside the output folder."""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import scaling
from scaling import io
from scaling.cli import app
from scaling.data import DataError, prepare
from scaling.errors import ScalingError
from scaling.models.model import resolve
from scaling.studies.spec import load_spec

BAD = Path(__file__).parent / "fixtures" / "bad"
PL = resolve("power_law", "lognormal")
TREND = resolve("exponential_trend", "lognormal")
LOGISTIC = resolve("logistic", "normal")

# (fixture, model, x, y, extra prepare kwargs, message the DataError must match)
REFUSED = [
    (
        "trailing_comma.csv",
        PL,
        "training_flop",
        "loss",
        {},
        r"row 1 \(line 2\) has 4 fields.*3 \(a trailing",
    ),
    ("duplicated_header.csv", PL, "training_flop", "loss", {}, r"names column\(s\) \['loss'\] more than once"),
    ("mixed_percent.csv", LOGISTIC, "training_flop", "mmlu", {}, r"row 3, column 'mmlu': score 1\.2 is above 1"),
    ("epoch_seconds.csv", TREND, "release_date", "p50_minutes", {}, r"row 1 .*not a year.*epoch seconds \(2019-02-19"),
    ("epoch_ms.csv", TREND, "release_date", "p50_minutes", {}, r"not a year.*epoch milliseconds \(2019-02-19"),
    ("decimal_and_iso.csv", TREND, "release_date", "p50_minutes", {}, r"row 3 .*'2022\.30' is a number .*row 1"),
    ("day_month_flipped.csv", TREND, "release_date", "p50_minutes", {}, r"row 1 .*'14/02/2019' is day/month but row 3"),
    ("ambiguous_day_month.csv", TREND, "release_date", "p50_minutes", {}, r"'02/01/2019' could be day/month or month"),
    ("constant_x.csv", PL, "training_flop", "loss", {}, r"column 'training_flop': every usable row has the same value"),
    (
        "markup_value.csv",
        PL,
        "training_flop",
        "loss",
        {},
        r"row 2 \(line 3\), column 'loss': expected a number, got '\[/\]",
    ),
    ("timezone_dates.csv", TREND, "release_date", "p50_minutes", {"units": {"release_date": "log10"}}, r"date input"),
    ("percent_scores.csv", PL, "training_flop", "mmlu", {"where": "mmlu"}, r"where='mmlu'.*a column, not a condition"),
]


@pytest.mark.parametrize("name, model, x, y, kwargs, match", REFUSED, ids=[r[0] + str(r[4]) for r in REFUSED])
def test_bad_file_is_refused_naming_file_row_and_column(name, model, x, y, kwargs, match):
    before = (BAD / name).read_bytes()
    with pytest.raises(DataError, match=match) as info:
        prepare(BAD / name, model, x=x, y=y, **kwargs)
    assert name in str(info.value) or "where=" in str(info.value)
    assert (BAD / name).read_bytes() == before


def test_time_zones_are_converted_to_utc_with_a_notice():
    with pytest.warns(UserWarning, match=r"7 date\(s\) carry a time zone; converted to UTC"):
        prep = prepare(BAD / "timezone_dates.csv", TREND, x="release_date", y="p50_minutes")
    # 2020-05-28T17:00-07:00 is 2020-05-29T00:00 UTC: day 149 (0-based) of a leap year
    assert prep.raw_x["t"][1] == pytest.approx(2020 + 149 / 366, abs=1e-9)


def test_folder_as_csv_and_non_unique_index():
    with pytest.raises(DataError, match=r"is a folder, not a CSV file"):
        prepare(BAD, PL, x="training_flop", y="loss")
    df = pd.DataFrame({"flop": np.logspace(18, 23, 20), "loss": np.linspace(3, 2, 20), "keep": [0, 1] * 10})
    df.index = list(range(10)) * 2  # e.g. pd.concat of two tables
    with pytest.raises(DataError, match=r"row labels \(index\) repeat, e.g. \[0, 1, 2, 3, 4\].*reset_index"):
        prepare(df, PL, x="flop", y="loss", where="keep == 1")


def test_dates_are_not_numbers_for_a_compute_law():
    df = pd.DataFrame({"d": pd.date_range("2020-01-01", periods=8, freq="90D"), "y": np.linspace(3, 2, 8)})
    with pytest.raises(DataError, match=r"column 'd' holds dates, and this input of the law needs numbers"):
        prepare(df, PL, x="d", y="y")


def test_by_column_with_missing_values_is_refused(tmp_path):
    spec = tmp_path / "many.toml"
    spec.write_text(
        f'[data]\nsource = "{BAD / "by_missing.csv"}"\nby = "family"\n'
        '[model]\nlaw = "power_law"\nx = ["training_flop"]\ny = "loss"\n'
    )
    result = CliRunner().invoke(app, ["fit-many", str(spec), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "column 'family' is empty in 6 row(s) ([13, 14, 15, 16, 17]...)" in " ".join(result.output.split())
    assert not (tmp_path / "o").exists()


def _tiny_fit() -> xr.DataTree:
    post = xr.Dataset({"alpha": (("chain", "draw"), np.linspace(0, 1, 8).reshape(2, 4))})
    attrs = {"spec": json.dumps({"law": {}}), "scaling_version": scaling.__version__}
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs=attrs), "posterior": post})


def test_fit_with_flipped_bytes_does_not_load(tmp_path):
    io.save(_tiny_fit(), tmp_path / "fit.nc")
    assert io.load(tmp_path / "fit.nc")["posterior"]["alpha"].shape == (2, 4)
    raw = bytearray((tmp_path / "fit.nc").read_bytes())
    at = raw.find(np.linspace(0, 1, 8).tobytes())
    assert at > 0
    raw[at + 13] ^= 0x40  # one bit of one draw
    (tmp_path / "bad.nc").write_bytes(raw)
    with pytest.raises(ScalingError, match=r"bad\.nc: the contents do not match their checksum"):
        io.load(tmp_path / "bad.nc")
    raw[0:8] = b"\0" * 8  # the HDF5 signature
    (tmp_path / "worse.nc").write_bytes(raw)
    result = CliRunner().invoke(app, ["check", str(tmp_path / "worse.nc")])
    assert result.exit_code == 2 and "cannot be read as a fit" in result.output, result.output


def test_check_without_posterior_and_option_text_for_a_number(tmp_path):
    tree = xr.DataTree.from_dict({"/": xr.Dataset(attrs={"spec": "{}", "scaling_version": scaling.__version__})})
    io.save(tree, tmp_path / "empty.nc")
    result = CliRunner().invoke(app, ["check", str(tmp_path / "empty.nc")])
    assert result.exit_code == 2 and "needs a fit with a posterior group" in result.output, result.output
    args = ["fit", str(BAD / "percent_scores.csv"), "--law", "logistic", "--x", "training_flop", "--y", "mmlu"]
    result = CliRunner().invoke(app, [*args, "--law-option", "floor=abc", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "The 'floor' option of law 'logistic' must be a number. Got 'abc' instead." in result.output


# ------------------------------------------------------------------ settings checked up front
XY = {"flop": np.logspace(18, 23, 12), "loss": 3.0 * np.logspace(18, 23, 12) ** -0.02}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seed": 2**40}, r"'seed' parameter of fit must be an int in the range \[0, 4294967295\]"),
        ({"seed": -1}, r"'seed' parameter of fit must be an int in the range \[0, 4294967295\]"),
        (
            {"num_samples": 10**9},
            r"fit: num_samples=1,000,000,000 with num_chains=4 \(12 points\) would need about "
            r"[0-9.]+ TiB of memory, and 1\.0 GiB is available; the largest num_samples that fits is about [0-9,]+\.",
        ),
        ({"num_chains": 10**6, "num_samples": 1000}, r"fit: num_samples=1,000 with num_chains=1,000,000"),
    ],
)
def test_sampler_settings_checked_before_sampling(monkeypatch, kwargs, match):
    monkeypatch.setattr("scaling.checks.available_memory", lambda: 2**30)  # 1 GiB, whatever this machine has
    with pytest.raises(ScalingError, match=match):
        scaling.fit(XY, "power_law", x="flop", y="loss", **kwargs)


def test_bootstrap_size_checked_against_memory(monkeypatch):
    monkeypatch.setattr("scaling.checks.available_memory", lambda: 2**30)
    with pytest.raises(
        ScalingError, match=r"fit_point: num_bootstrap=1,000,000,000 .*the largest num_bootstrap that fits"
    ):
        scaling.fit_point(XY, "power_law", x="flop", y="loss", num_bootstrap=10**9)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"prob": 1.5}, r"'prob' parameter of returns must be a probability in \(0\.5, 1\)"),
        ({"prob": math.nan}, r"'prob' parameter of returns must be a probability"),
        ({"prob": 0.3}, r"'prob' parameter of returns must be a probability"),
        ({"rope": -1.0}, r"'rope' parameter of returns must be a finite number > 0"),
        ({"rope": math.inf}, r"'rope' parameter of returns must be a finite number > 0"),
    ],
)
def test_verdict_parameters_checked(kwargs, match):
    with pytest.raises(ScalingError, match=match):
        scaling.returns(_tiny_fit(), **kwargs)


def test_forecast_threshold_and_extend_checked(tmp_path):
    for bad in (math.nan, -10.0, math.inf):
        with pytest.raises(ScalingError, match=r"'threshold' parameter of forecast must be a finite number > 0"):
            scaling.forecast(BAD / "timezone_dates.csv", x="release_date", y="p50_minutes", threshold=bad)
    for bad in ("nan", "inf", "-50"):
        args = ["fit", str(BAD / "constant_x.csv"), "--law", "power_law", "--x", "training_flop", "--y", "loss"]
        result = CliRunner().invoke(app, [*args, "--extend", bad, "--out", str(tmp_path / "o")])
        assert result.exit_code == 2 and "'extend' parameter of --extend must be a finite number >= 0" in result.output
    args = ["forecast", "x.csv", "--x", "d", "--y", "v", "--threshold", "nan", "--out", str(tmp_path / "f")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "'threshold' parameter of --threshold" in result.output


def test_returns_on_a_point_fit_without_bootstrap_says_why_not():
    point = scaling.fit_point(XY, "saturating_power_law", x="flop", y="loss", num_starts=4)
    with pytest.raises(ScalingError, match=r"this point fit has 1 estimate \(no bootstrap\).*num_bootstrap >= 20"):
        scaling.returns(point)


def _spec(tmp_path: Path, extra: str = "", data: str = "") -> Path:
    csv = tmp_path / "d.csv"
    pd.DataFrame(XY).to_csv(csv, index=False)
    spec = tmp_path / "s.toml"
    spec.write_text(f'[data]\nsource = "d.csv"\n{data}[model]\nlaw = "power_law"\nx = ["flop"]\ny = "loss"\n' + extra)
    return spec


@pytest.mark.parametrize(
    "extra, match",
    [
        ("[returns]\nprob = 1.5\n", r"s\.toml: \[returns\] prob must be a probability in \(0\.5, 1\)"),
        ("[returns]\nrope = -1.0\n", r"s\.toml: \[returns\] rope must be a finite number > 0"),
        ("[forecast]\nthreshold = nan\n", r"s\.toml: \[forecast\] threshold must be a finite number > 0"),
        ('[forecast]\nshapes = ["power_law"]\n', r"s\.toml: \[forecast\] shapes must be a list of date trend laws"),
        ("[outputs]\nextend = inf\n", r"s\.toml: \[outputs\] extend must be a finite number >= 0"),
        ("[sampler]\nseed = 99999999999\n", r"s\.toml: \[sampler\] seed must be an int in \[0, 4294967295\]"),
        ("[sampler]\nnum_samples = 1e9\n", r"s\.toml: \[sampler\] num_samples must be an int"),
        ('[model.law_options]\nfloor = "abc"\n', r"s\.toml: \[model\]: .*unexpected keyword argument 'floor'"),
    ],
)
def test_spec_values_checked_before_any_fit(tmp_path, extra, match):
    with pytest.raises(ScalingError, match=match):
        load_spec(_spec(tmp_path, extra))


def test_spec_source_that_is_a_folder(tmp_path):
    (tmp_path / "folder").mkdir()
    spec = _spec(tmp_path)
    spec.write_text(spec.read_text().replace('source = "d.csv"', 'source = "folder"'))
    with pytest.raises(ScalingError, match=r"s\.toml: \[data\] source 'folder' is a folder"):
        load_spec(spec)


def test_plan_horizon_and_start_must_be_finite(tmp_path):
    from .test_studies import BASE, write

    for key, value in (("horizon", "inf"), ("start", "nan")):
        with pytest.raises(ScalingError, match=rf"\[plan\] {key} must be a finite number; got {value}"):
            load_spec(write(tmp_path, BASE + f"[plan]\n{key} = {value}\n"))


# ------------------------------------------------------------------ property tests
NAMES = st.sampled_from(["flop", "loss", "model", "flop", "", "[/]", "loss "])
CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "abc", "1e9", "1.7e12", "2022.30", "2023-01-05", "14/02/2019", "[red]x", "[/]", '"', ","]),
    st.text(max_size=5),
)
WHERE = st.one_of(
    st.none(),
    st.sampled_from(
        ["flop > 1e20", "loss", "@os.system('true') == 0", "flop.max() > 0", "model in ['A']", "`[/]` > 0"]
    ),
    st.text(max_size=12),
)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.lists(NAMES, min_size=1, max_size=4),
    rows=st.lists(st.lists(CELL, min_size=1, max_size=5), max_size=10),
    where=WHERE,
)
def test_random_csv_gives_a_result_or_our_error_and_changes_no_file(header, rows, where):
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "random.csv"
        path.write_bytes(text.encode("utf-8", errors="replace"))
        before = _snapshot(Path(d))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                prep = prepare(path, PL, x="flop", y="loss", where=where)
            except ScalingError:
                pass
            else:
                assert np.isfinite(prep.y).all() and (prep.y > 0).all()
        assert _snapshot(Path(d)) == before


TOML_VALUE = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),  # TOML spells them inf, -inf, nan too
    st.text(max_size=8).map(json.dumps),
    st.booleans().map(lambda b: str(b).lower()),
    st.lists(st.sampled_from(['"power_law"', '"exponential_trend"', "1", '"[/]"']), max_size=3).map(
        lambda v: "[" + ", ".join(v) + "]"
    ),
)
KEYS = {
    "data": ["source", "where", "dropna", "units", "by"],
    "model": ["law", "x", "y", "likelihood"],
    "sampler": ["num_samples", "num_chains", "seed", "target_accept"],
    "returns": ["prob", "rope", "baseline"],
    "forecast": ["threshold", "horizon", "shapes", "direction"],
    "outputs": ["dir", "extend"],
    "sampelr": ["x"],
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(
        st.sampled_from(sorted(KEYS)).flatmap(lambda t: st.tuples(st.just(t), st.sampled_from(KEYS[t]), TOML_VALUE)),
        max_size=4,
    )
)
def test_random_spec_gives_a_spec_or_our_error_and_changes_no_file(changes):
    tables: dict[str, dict[str, str]] = {
        "data": {"source": '"d.csv"'},
        "model": {"law": '"power_law"', "x": '["flop"]', "y": '"loss"'},
    }
    for table, key, value in changes:
        tables.setdefault(table, {})[key] = value
    text = "".join(f"[{t}]\n" + "".join(f"{k} = {v}\n" for k, v in kv.items()) for t, kv in tables.items())
    with tempfile.TemporaryDirectory() as d:
        pd.DataFrame(XY).to_csv(Path(d) / "d.csv", index=False)
        (Path(d) / "s.toml").write_text(text)
        before = _snapshot(Path(d))
        try:
            load_spec(Path(d) / "s.toml")
        except ScalingError:
            pass
        assert _snapshot(Path(d)) == before


def test_compare_exits_non_zero_when_unreliable(tmp_path, monkeypatch):
    from scaling.analysis.comparison import Comparison

    verdict = Comparison("unreliable", ["power_law failed diagnostics: r_hat 1.2 for alpha"])
    monkeypatch.setattr("scaling.analysis.comparison.compare", lambda fits: verdict)
    paths = [str(io.save(_tiny_fit(), tmp_path / f"{k}.nc")) for k in ("a", "b")]
    result = CliRunner().invoke(app, ["compare", *paths])
    assert result.exit_code == 1 and "comparison unreliable: power_law failed diagnostics" in result.output
