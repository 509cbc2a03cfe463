"""Shared fixtures. Public datasets are found through one setting, $SCALING_DATA_DIR
(default ``../shared/data`` beside the repository); a missing dataset is a test
failure, never a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaling.data.registry import DATA_ENV, data_dir


def shared_file(relative: str) -> Path:
    path = data_dir() / relative
    if not path.exists():
        pytest.fail(f"Dataset {relative!r} not found under {data_dir()} (set ${DATA_ENV} to the data folder).")
    return path


@pytest.fixture(scope="session")
def chinchilla_csv() -> Path:
    return shared_file("chinchilla_hoffmann2022_fig4/chinchilla_fig4.csv")


@pytest.fixture(scope="session")
def chinchilla_df(chinchilla_csv):
    import pandas as pd

    df = pd.read_csv(chinchilla_csv)
    assert len(df) == 245 and int(df["besiroglu_excluded"].sum()) == 5
    return df[df["besiroglu_excluded"] == 0].reset_index(drop=True)


REPO = Path(__file__).resolve().parents[1]

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
