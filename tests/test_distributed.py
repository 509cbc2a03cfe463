"""Survey-scale fit_many: chunks, the resumable chunk store, failures, and the Ray backend."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import scaling

SETTINGS = {"num_warmup": 150, "num_samples": 150, "num_chains": 2}


def many(n: int, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """``n`` small power-law problems with known exponents 0.05 ... 0.3."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n):
        m = int(rng.integers(12, 20))
        x = 10 ** rng.uniform(18, 23, m)
        alpha = 0.05 + 0.25 * i / max(n - 1, 1)
        out[f"p{i:03d}"] = {"flop": x, "loss": 3.0 * (x / 1e18) ** -alpha * np.exp(0.03 * rng.normal(size=m))}
    return out


def same(a, b) -> None:
    """Same layout (groups, variables, sizes, problem order) and the same draws."""
    assert set(a.children) == set(b.children)
    for g in a.children:
        da, db = a[g].to_dataset(), b[g].to_dataset()
        assert set(da.data_vars) == set(db.data_vars), g
        assert dict(da.sizes) == dict(db.sizes), g
    assert list(a.posterior["problem"].values) == list(b.posterior["problem"].values)
    np.testing.assert_allclose(a.posterior["alpha"].values, b.posterior["alpha"].values, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.log_likelihood["y"].values, b.log_likelihood["y"].values, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def one_piece():
    data = many(200)
    return data, scaling.fit_many(data, "power_law", x="flop", y="loss", **SETTINGS)


def test_chunks_equal_one_piece_and_a_bad_dataset_is_reported(one_piece, tmp_path):
    data, whole = one_piece
    first = dict(list(data.items())[:12])
    bad = {**first, "zz_bad": {"flop": np.array([1e20, -1.0, 1e21]), "loss": np.array([1.0, 2.0, 3.0])}}
    with pytest.warns(UserWarning, match="1 of 13 problems failed"):
        dt = scaling.fit_survey(
            bad, "power_law", x="flop", y="loss", chunk_size=5, out_dir=tmp_path / "job", **SETTINGS
        )
    ref = scaling.fit_many(first, "power_law", x="flop", y="loss", **SETTINGS)
    same(dt, ref)
    failed = json.loads((tmp_path / "job" / "failed.json").read_text())
    assert failed[0]["problems"] == ["zz_bad"] and "column 'flop'" in failed[0]["error"]
    assert sorted(p.name for p in (tmp_path / "job" / "chunks").iterdir()) == ["00000.nc", "00001.nc", "00002.nc"]
    assert (tmp_path / "job" / "fit.nc").exists()
    with pytest.raises(ValueError, match="pass resume=True"):
        scaling.fit_survey(bad, "power_law", x="flop", y="loss", chunk_size=5, out_dir=tmp_path / "job", **SETTINGS)
    with pytest.raises(ValueError, match="holds a different job"):
        scaling.fit_survey(
            first, "power_law", x="flop", y="loss", chunk_size=4, out_dir=tmp_path / "job", resume=True, **SETTINGS
        )


def test_failing_chunk_is_retried_then_reported(one_piece, tmp_path, monkeypatch):
    from scaling.infer import survey as distributed

    data, _ = one_piece
    first = dict(list(data.items())[:6])
    calls = []
    real = distributed.run_chunk

    def flaky(problems, names, *rest):
        calls.append(tuple(names))
        if "p003" in names:
            raise RuntimeError("worker lost")
        return real(problems, names, *rest)

    monkeypatch.setattr(distributed, "run_chunk", flaky)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dt = scaling.fit_survey(first, "power_law", x="flop", y="loss", chunk_size=2, retries=2, **SETTINGS)
    assert calls.count(("p002", "p003")) == 3  # first try + 2 retries
    assert list(dt.posterior["problem"].values) == ["p000", "p001", "p004", "p005"]
    assert json.loads(dt.attrs["failed"]) == [{"problems": ["p002", "p003"], "error": "RuntimeError: worker lost"}]
    assert any("2 of 6 problems failed" in str(w.message) for w in caught)


@pytest.fixture(scope="module")
def ray_local():
    import ray  # in the test extras: a missing Ray fails, it is not skipped

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


def test_ray_backend_equals_local(one_piece, ray_local, tmp_path):
    data, whole = one_piece
    dt = scaling.fit_survey(
        data, "power_law", x="flop", y="loss", backend="ray", chunk_size=100, out_dir=tmp_path / "r", **SETTINGS
    )
    assert len(list((tmp_path / "r" / "chunks").iterdir())) == 2  # one chunk per Ray worker
    same(dt, whole)


SPEC = """
[data]
source = "{csv}"
by = "dataset"
[model]
law = "power_law"
x = ["flop"]
y = "loss"
[sampler]
num_warmup = 150
num_samples = 150
num_chains = 2
"""


def test_killed_ray_job_resumes_without_refitting(one_piece, ray_local, tmp_path):
    data, whole = one_piece
    rows = [pd.DataFrame({"dataset": name, **d}) for name, d in data.items()]
    pd.concat(rows).to_csv(tmp_path / "many.csv", index=False)
    (tmp_path / "many.toml").write_text(SPEC.format(csv="many.csv"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "scaling.cli", "fit-many", str(tmp_path / "many.toml"), "--out", str(out)]
    cmd += ["--backend", "ray", "--chunk-size", "25", "--address", ray_local.get_runtime_context().gcs_address]
    env = {**os.environ, "JAX_NUM_CPU_DEVICES": "1"}
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = out / "chunks"
    deadline = time.time() + 240
    while time.time() < deadline and len(list(chunks.glob("*.nc"))) < 2 and proc.poll() is None:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the job's driver: its running tasks die with it
    proc.wait()
    before = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.nc")}
    assert 2 <= len(before) < 8, f"killed after {len(before)} of 8 chunks: {proc.stderr.read().decode()[-2000:]}"
    done = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    after = {p.name: p.stat().st_mtime_ns for p in chunks.glob("*.nc")}
    assert len(after) == 8
    assert all(after[k] == v for k, v in before.items())  # finished chunks were not refitted
    same(scaling.load(out / "fit.nc"), whole)


def test_fit_many_spec_errors(tmp_path):
    from typer.testing import CliRunner

    from scaling.cli import app
    from scaling.studies import run_spec
    from scaling.studies.spec import SpecError

    pd.DataFrame({"dataset": ["a"] * 3, "flop": [1e20, 1e21, 1e22], "loss": [3.0, 2.5, 2.2]}).to_csv(
        tmp_path / "d.csv", index=False
    )
    (tmp_path / "by.toml").write_text(SPEC.format(csv="d.csv"))
    with pytest.raises(SpecError, match=r"by\.toml: \[data\] by .*scaling fit-many"):
        run_spec(tmp_path / "by.toml", out=tmp_path / "out")
    (tmp_path / "noby.toml").write_text(SPEC.format(csv="d.csv").replace('by = "dataset"\n', ""))
    result = CliRunner().invoke(app, ["fit-many", str(tmp_path / "noby.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "needs 'by'" in " ".join(result.output.split())
    (tmp_path / "wrong.toml").write_text(SPEC.format(csv="d.csv").replace('by = "dataset"', 'by = "family"'))
    result = CliRunner().invoke(app, ["fit-many", str(tmp_path / "wrong.toml"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "no column 'family'" in " ".join(result.output.split())
