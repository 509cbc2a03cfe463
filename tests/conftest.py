"""Shared fixtures. Public datasets come through the registry (``scaling.datasets.locate`` /
``load``): from the mirror folder $SCALING_DATA_DIR when it is set, else the download cache, else
downloaded from the pinned upstream URL (about 4 MB in all). A dataset that cannot be had is a test
failure in one line saying what to do, never a skip."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from scaling.data import registry as datasets
from scaling.data.download import DatasetUnavailable
from scaling.data.upstream import read_source

REPO = Path(__file__).resolve().parents[1]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A dataset that is neither mirrored, cached nor downloadable fails in one line (no traceback)."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, DatasetUnavailable):
        report.longrepr = f"{item.nodeid}: {call.excinfo.value}"
    return report


def registered(relative: str) -> str:
    """The registry entry whose mirror path is ``relative``."""
    for name, entry in datasets.registry().items():
        if not entry.get("shipped") and entry["path"] == relative:
            return name
    pytest.fail(f"{relative!r} is not a registry path; register it in datasets/registry.toml.", pytrace=False)


#: Per-process folder for tables converted to the mirror's format (removed when the process ends).
_CONVERTED = tempfile.TemporaryDirectory(prefix="scaling-tests-")


def shared_file(relative: str) -> Path:
    """A registered dataset's file, in the format of the mirror path ``relative`` (through the registry).

    Where the file found is the upstream one in another format (METR's YAML for a CSV path), its
    source table is written as a CSV in a temporary folder and that CSV is returned.
    """
    name = registered(relative)
    path = datasets.locate(name)
    if path.suffix == Path(relative).suffix:
        return path
    out = Path(_CONVERTED.name) / name / Path(relative).name
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        read_source(path, datasets.info(name)).to_csv(out, index=False)
    return out


#: Our columns of the ``chinchilla`` dataset -> the names of Epoch's cleaned table, which the tests use.
CHINCHILLA_NAMES = {
    "parameters": "params_N",
    "training_tokens": "tokens_D",
    "training_flop": "flops_C",
    "loss": "loss",
    "excluded": "besiroglu_excluded",
}


@pytest.fixture(scope="session")
def chinchilla_csv(tmp_path_factory) -> Path:
    """Epoch's 245 Chinchilla points (registry dataset ``chinchilla``) as a CSV with Epoch's column names."""
    df = datasets.load("chinchilla").rename(columns=CHINCHILLA_NAMES)
    path = tmp_path_factory.mktemp("chinchilla") / "chinchilla_fig4.csv"
    df[list(CHINCHILLA_NAMES.values())].to_csv(path, index=False)
    return path


@pytest.fixture(scope="session")
def chinchilla_df(chinchilla_csv):
    import pandas as pd

    df = pd.read_csv(chinchilla_csv)
    assert len(df) == 245 and int(df["besiroglu_excluded"].sum()) == 5
    return df[df["besiroglu_excluded"] == 0].reset_index(drop=True)


#: Files a compute plan writes (``scaling plan`` and ``[plan]`` studies).
PLAN_OUTPUTS = (
    "plan.nc",
    "cone.csv",
    "plan_summary.csv",
    "can_pay_curve.csv",
    "pnl.csv",
    "cone.png",
    "can_pay.png",
    "pnl.png",
)
