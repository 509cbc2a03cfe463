"""Shipped studies by name: ``scaling run metr_doubling`` from any folder finds the packaged spec,
a path wins over a name, an unknown name lists the shipped ones; sampler overrides reach the spec."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from scaling.cli import app
from scaling.errors import SpecError
from scaling.studies.spec import find_spec, load_spec, shipped_specs

from .conftest import REPO


def test_every_repository_study_is_shipped_by_name():
    assert shipped_specs() == sorted(p.stem for p in (REPO / "fits").glob("*.toml"))
    assert "metr_doubling" in shipped_specs()


def test_name_resolves_to_the_packaged_spec_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("metr_doubling", "metr_doubling.toml"):
        path = find_spec(name)
        assert path.read_bytes() == (REPO / "fits" / "metr_doubling.toml").read_bytes()
    by_name = load_spec("metr_doubling", {"sampler": {"num_chains": 2}})
    by_path = load_spec(REPO / "fits" / "metr_doubling.toml", {"sampler": {"num_chains": 2}})
    assert {k: v for k, v in by_name.items() if k != "_path"} == {k: v for k, v in by_path.items() if k != "_path"}
    assert by_name["sampler"]["num_chains"] == 2


def test_a_file_in_the_folder_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "metr_doubling.toml"
    mine.write_text('[data]\nsource = "time_horizons"\n[model]\nlaw = "exponential_trend"\nx = "release_date"\n')
    assert find_spec("metr_doubling.toml") == mine.relative_to(tmp_path)


def test_unknown_name_lists_the_shipped_studies(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match="not the name of a shipped study .*metr_doubling"):
        find_spec("metr_dubling")
    with pytest.raises(SpecError, match="does not exist"):
        find_spec("elsewhere/metr_doubling.toml")  # a path is never taken for a name
    result = CliRunner().invoke(app, ["run", "metr_dubling"])
    assert result.exit_code == 2 and "shipped study" in result.output


def test_cli_sampler_overrides_reach_the_spec(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["run", "metr_doubling", "--num-warmup", "0"])
    assert result.exit_code == 2, result.output
    assert "num_warmup must be an int >= 1; got 0" in result.output
    assert not (tmp_path / "results").exists()
