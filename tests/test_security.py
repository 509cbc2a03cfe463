"""Running someone else's study must be safe: ``where=`` runs no code, outputs never destroy what the
toolkit did not create, concurrent or killed runs leave whole results, and messages print literally."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from scaling import io
from scaling.cli import app
from scaling.data import DataError, prepare
from scaling.errors import ScalingError
from scaling.models.model import resolve
from scaling.studies import runner
from scaling.studies.runner import run_spec
from scaling.studies.spec import load_spec

PL = resolve("power_law", "lognormal")
X = np.logspace(18, 23, 12)
DATA = pd.DataFrame({"flop": X, "loss": 3.0 * X**-0.02, "org": ["A", "B"] * 6, "my col": np.arange(12)})

INJECTIONS = [
    "@os.system('touch pwned') == 0",
    "@df.to_csv('pwned.csv')",
    "@pd.io.parsers.read_csv('secret.csv').shape[0] > 0",
    "flop.__class__.__init__.__globals__['os'].system('touch pwned') == 0",
    "__import__('os').system('touch pwned') == 0",
    "loss == loss.to_csv('pwned.csv')",
    "[x for x in ().__class__.__base__.__subclasses__()]",
    "lambda: open('secret.csv').read()",
    "flop[0] > 0",
    "(flop := 1) > 0",
]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A working folder with a secret file; records every shell command and CSV read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "secret.csv").write_text("password\nhunter2\n")
    calls = []
    monkeypatch.setattr(os, "system", lambda *a, **k: calls.append(("system", a)) or 0)
    real_read = pd.read_csv

    def read_csv(path, *a, **k):
        calls.append(("read_csv", str(path)))
        return real_read(path, *a, **k)

    monkeypatch.setattr(pd, "read_csv", read_csv)
    return tmp_path, calls


def _untouched(folder: Path, calls: list, allowed_reads: tuple[str, ...] = ()) -> None:
    assert not list(folder.glob("pwned*")), "a file was created"
    assert [c for c in calls if c[0] == "system"] == []
    assert [c for c in calls if c[0] == "read_csv" and not c[1].endswith(allowed_reads or ("\0",))] == []


@pytest.mark.parametrize("where", INJECTIONS)
def test_where_injection_through_the_api_runs_nothing(sandbox, where):
    folder, calls = sandbox
    with pytest.raises(DataError, match=r"cannot apply where=.*(not allowed|not a valid)"):
        prepare(DATA, PL, x="flop", y="loss", where=where)
    _untouched(folder, calls)


def test_where_error_names_the_token():
    cases = {
        "@os.system('x') == 0": "'@' (a Python variable) is not allowed",
        "flop.max() > 0": "a function call is not allowed (in 'flop.max()')",
        "flop.values > 0": "attribute access ('.') is not allowed (in 'flop.values')",
        "len(org) > 0": "a function call is not allowed (in 'len(org)')",
        "flop[0] > 0": "indexing ('[...]' after a name) is not allowed (in 'flop[0]')",
        "flop * 2 > 0": "arithmetic is not allowed (in 'flop * 2')",
        "nope == 1": "no column 'nope'. Available columns: ['flop', 'loss', 'org', 'my col']",
        "org > 1": "column 'org' holds text, compared ('>') with 1. Quote the value.",
        "flop": "it is a column, not a condition",
        "not " * 3000 + "flop > 0": "the condition is nested too deeply",
        "flop\0 > 0": "source code string cannot contain null bytes",
    }
    for where, message in cases.items():
        with pytest.raises(DataError, match=None) as info:
            prepare(DATA, PL, x="flop", y="loss", where=where)
        assert message in str(info.value), (where, str(info.value))


def test_where_language_selects_the_documented_rows():
    cases = {
        "org == 'A' & flop > 1e19": [4, 6, 8, 10],
        "org in ['B'] and not `my col` >= 8": [1, 3, 5, 7],
        "2 <= `my col` < 6 or org == ['Z']": [2, 3, 4, 5],
        "~(org != 'A') | `my col` == 1": [0, 1, 2, 4, 6, 8, 10],
    }
    for where, rows in cases.items():
        prep = prepare(DATA, PL, x="flop", y="loss", where=where)
        assert list(prep.rows) == rows, where
        assert len(prep.excluded) == 12 - len(rows)


def _csv_spec(folder: Path, where: str | None = None, out: str | None = None) -> Path:
    DATA.to_csv(folder / "d.csv", index=False)
    text = '[data]\nsource = "d.csv"\n' + (f"where = {json.dumps(where)}\n" if where else "")
    text += '[model]\nlaw = "power_law"\nx = ["flop"]\ny = "loss"\n'
    if out:
        text += f"[outputs]\ndir = {json.dumps(out)}\n"
    (folder / "s.toml").write_text(text)
    return folder / "s.toml"


@pytest.mark.parametrize("where", INJECTIONS[:4])
def test_where_injection_through_the_cli_and_a_spec_runs_nothing(sandbox, where):
    folder, calls = sandbox
    DATA.to_csv(folder / "d.csv", index=False)
    args = ["fit", "d.csv", "--law", "power_law", "--x", "flop", "--y", "loss", "--where", where, "--out", "o"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "error: cannot apply where=" in result.output, result.output
    spec = _csv_spec(folder, where)
    with pytest.raises(ScalingError, match=r"s\.toml: \[data\] where: cannot apply where="):
        load_spec(spec)
    result = CliRunner().invoke(app, ["run", str(spec), "--out", "r"])
    assert result.exit_code == 2 and "[data] where" in result.output, result.output
    assert not (folder / "o").exists() and not (folder / "r").exists()
    _untouched(folder, calls, allowed_reads=("d.csv",))


# ------------------------------------------------------------------ the output boundary
def _fake_study(monkeypatch, seconds: float = 0.0, log: list | None = None):
    """Replace the fitting part of a run by a quick writer of two files (the swap is what is tested)."""

    def run_into(spec, clean, sid, tmp):
        start = time.monotonic()
        time.sleep(seconds)
        (tmp / "summary.csv").write_text(f"run {sid}\n")
        (tmp / "spec.json").write_text(json.dumps({"spec_id": sid}))
        if log is not None:
            log.append((start, time.monotonic()))

    monkeypatch.setattr(runner, "_run_into", run_into)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["file", "other studies", "user folder"])
def test_run_refuses_an_output_the_toolkit_did_not_create(tmp_path, monkeypatch, kind):
    _fake_study(monkeypatch)
    spec = _csv_spec(tmp_path)
    target = tmp_path / "results"
    if kind == "file":
        target.write_text("my notes\n")
    else:
        target.mkdir()
        (target / "notes.txt").write_text("my notes\n")
        if kind == "other studies":
            (target / "chinchilla").mkdir()
            (target / "chinchilla" / "fit.nc").write_bytes(b"\x89HDF")
    before = sorted(p.name for p in tmp_path.iterdir())
    snapshot = _tree(target) if target.is_dir() else target.read_bytes()
    for call in (lambda: run_spec(spec, out=target), lambda: run_spec(_csv_spec(tmp_path, out=str(target)))):
        with pytest.raises(ScalingError, match=r"results' is an existing file|holds other files .*notes\.txt"):
            call()
    assert (_tree(target) if target.is_dir() else target.read_bytes()) == snapshot
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no .results.old, no lock, no staging
    result = CliRunner().invoke(app, ["run", str(spec), "--out", str(target)])
    assert result.exit_code == 2 and "nothing in it is changed" in result.output or "left as it is" in result.output


def test_run_replaces_only_its_own_results(tmp_path, monkeypatch):
    _fake_study(monkeypatch)
    spec = _csv_spec(tmp_path)
    (tmp_path / "empty").mkdir()
    out = run_spec(spec, out=tmp_path / "empty")
    assert json.loads((out / io.MARKER).read_text())["kind"] == "study"
    (out / "summary.csv").write_text("stale\n")
    run_spec(spec, out=out, force=True)  # marked: replaced
    assert (out / "summary.csv").read_text().startswith("run ")
    legacy = tmp_path / "legacy"  # results written before the marker existed
    legacy.mkdir()
    (legacy / "spec.json").write_text(json.dumps({"spec_id": "old", "spec": {}}))
    run_spec(spec, out=legacy)
    assert (legacy / io.MARKER).exists()
    for bad, match in (("/", "name a results folder"), (".", "name a results folder"), ("~", "only a shell expands")):
        with pytest.raises(ScalingError, match=match):
            run_spec(spec, out=bad)
    assert not Path("~").exists()


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not even ``except Exception``)."""


@pytest.mark.parametrize("point", ["exchange", "after exchange", "during removal", "fallback between renames"])
def test_a_kill_at_any_point_of_the_swap_leaves_whole_results(tmp_path, monkeypatch, point):
    out = tmp_path / "out"
    out.mkdir()
    io.mark(out, "study")
    (out / "a.csv").write_text("old\n")
    old = _tree(out)
    tmp = io.staging_dir(out, "study")
    (tmp / "a.csv").write_text("new\n")
    (tmp / "b.csv").write_text("new\n")
    new = _tree(tmp)
    real_exchange, real_rmtree = io._exchange, shutil.rmtree

    def kill(*_):
        raise Killed

    if point == "exchange":
        monkeypatch.setattr(io, "_exchange", kill)
    elif point == "after exchange":
        monkeypatch.setattr(io.shutil, "rmtree", kill)
    elif point == "during removal":

        def partial(path, *a, **k):
            next(p for p in Path(path).iterdir() if p.name != io.MARKER).unlink()
            raise Killed

        monkeypatch.setattr(io.shutil, "rmtree", partial)
    else:
        monkeypatch.setattr(io, "_exchange", lambda a, b: False)  # no renameat2 here
        calls = []

        def rename(a, b):
            calls.append(b)
            if len(calls) == 2:
                raise Killed
            os.replace(a, b)

        monkeypatch.setattr(io, "_rename", rename)
    with pytest.raises(Killed):
        io.replace_dir(tmp, out)
    monkeypatch.setattr(io, "_exchange", real_exchange)
    monkeypatch.setattr(io.shutil, "rmtree", real_rmtree)
    monkeypatch.setattr(io, "_rename", os.replace)
    if point == "fallback between renames":
        assert not out.exists()  # the gap the exchange closes; the next run puts the old results back
        io.recover(out)
    assert _tree(out) in (old, new)
    _fake_study(monkeypatch)
    run_spec(_csv_spec(tmp_path), out=out, force=True)  # the next run cleans up and finishes
    assert (out / "summary.csv").exists() and not list(tmp_path.glob(".out.tmp-*"))
    assert not (tmp_path / ".out.old").exists()


def test_concurrent_runs_of_one_spec_take_turns(tmp_path, monkeypatch):
    log: list = []
    _fake_study(monkeypatch, seconds=1.0, log=log)
    spec, errors = _csv_spec(tmp_path), []

    def go():
        try:
            run_spec(spec, out=tmp_path / "out", force=True)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    with pytest.warns(UserWarning, match="another run is writing"):
        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
            time.sleep(0.1)
        for t in threads:
            t.join()
    assert errors == [] and len(log) == 2
    (a0, a1), (b0, b1) = sorted(log)
    assert a1 <= b0  # one after the other, never both writing
    assert not list(tmp_path.glob(".out.tmp-*")) and (tmp_path / "out" / "summary.csv").exists()


@pytest.mark.parametrize("command", ["fit", "forecast", "plan", "backtest", "returns"])
def test_cli_out_refuses_a_user_folder_before_any_work(tmp_path, command):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.tex").write_text("\\section{}\n")
    args = {
        "fit": ["fit", "d.csv", "--law", "power_law", "--x", "flop", "--y", "loss"],
        "forecast": ["forecast", "d.csv", "--x", "date", "--y", "loss"],
        "plan": ["plan"],
        "backtest": ["backtest", "d.csv", "--law", "power_law", "--x", "flop", "--y", "loss", "--cutoff", "1e21"],
        "returns": ["returns", str(tmp_path / "fit.nc")],
    }[command]
    started = time.monotonic()
    result = CliRunner().invoke(app, [*args, "--out", str(user)])
    assert result.exit_code == 2, result.output
    assert "holds other files (thesis.tex)" in " ".join(result.output.split())
    assert sorted(p.name for p in user.iterdir()) == ["thesis.tex"] and time.monotonic() - started < 20


def test_returns_out_file_that_is_not_a_fit_is_left_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me\n")
    with pytest.raises(ScalingError, match=r"notes\.txt' exists and is not a scaling fit; it is left as it is"):
        io.save(None, notes)
    assert notes.read_text() == "keep me\n"


# ------------------------------------------------------------------ messages
def test_messages_print_brackets_literally(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["fit", "run [final].csv", "--law", "power_law", "--x", "a", "--y", "b"])
    assert result.exit_code == 2 and "'run [final].csv' does not exist" in result.output, result.output
    (tmp_path / "s.toml").write_text('[sampelr]\nx = 1\n[data]\nsource = "[/]"\n')
    result = CliRunner().invoke(app, ["run", "s.toml"])
    assert result.exit_code == 2 and "unknown table [sampelr]" in result.output, result.output
    pd.DataFrame({"flop": X, "loss": ["[/]"] + ["[bold]2"] * 11}).to_csv("m.csv", index=False)
    result = CliRunner().invoke(app, ["fit", "m.csv", "--law", "power_law", "--x", "flop", "--y", "loss"])
    assert result.exit_code == 2 and "got '[/]' (12 such rows" in result.output, result.output


def test_internal_errors_are_shown_as_bugs(tmp_path, monkeypatch):
    def broken(*a, **k):
        raise KeyError("posterior")

    monkeypatch.setattr("scaling.infer.bayes.fit", broken)
    DATA.to_csv(tmp_path / "d.csv", index=False)
    args = ["fit", str(tmp_path / "d.csv"), "--law", "power_law", "--x", "flop", "--y", "loss"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "internal error: KeyError: 'posterior'" in result.output and "This is a bug in scaling" in result.output
    assert "error: " not in result.output.replace("internal error: ", "")


def test_where_on_columns_with_missing_values():
    from scaling.data.where import mask

    df = pd.DataFrame(
        {
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "org": pd.array(["A", None, "B", "A"], dtype="string"),
        }
    )
    assert mask(df, "n > 1").tolist() == [False, False, True, True]  # a missing value matches no comparison
    assert mask(df, "flag == 1 and org == 'A'").tolist() == [True, False, False, True]
    assert mask(df, "org in ['B']").tolist() == [False, False, True, False]
    with pytest.raises(DataError, match=r"cannot order the values in org < 'B' .*missing values"):
        mask(df, "org < 'B'")


def test_a_linked_results_folder_is_updated_through_the_link(tmp_path, monkeypatch):
    _fake_study(monkeypatch)
    spec = _csv_spec(tmp_path)
    target = run_spec(spec, out=tmp_path / "disk" / "results")
    (tmp_path / "link").symlink_to(target)
    run_spec(spec, out=tmp_path / "link", force=True)
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link" / "summary.csv").exists()
    assert not list((tmp_path / "disk").glob(".results.tmp-*"))
