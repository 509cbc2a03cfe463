"""Programs kept on disk as exported StableHLO (scaling.aot): reused across processes, rebuilt when
they should be, and a warm point fit that imports neither optax nor numpyro."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from scaling import aot
from scaling.laws import LAWS, get_law
from scaling.likelihoods import get_likelihood

from .conftest import REPO


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCALING_JAX_CACHE", str(tmp_path))
    return tmp_path / "exported"


def poly(scale: float):
    def f(x, n):
        return jnp.sum(scale * x**2) + n

    return f


def never():
    raise AssertionError("the program was traced again instead of loaded")


def test_a_new_process_loads_the_program_instead_of_tracing_it(cache):
    x = np.arange(4.0)
    first = aot.program("poly", "scale=3", lambda: poly(3.0))
    want = first(x, 2)
    files = list(cache.glob(f"poly-*{aot.SUFFIX}"))
    assert len(files) == 1 and float(want) == 3 * 14 + 2
    again = aot.program("poly", "scale=3", never)  # what a new process builds: nothing traced
    assert float(again(x, 2)) == float(want) and float(again(x + 1, 5)) == 3 * 30 + 5
    assert len(list(cache.iterdir())) == 1  # same signature, same file


def test_keys_and_signatures_name_different_files(cache):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(4.0), 2)
    other = aot.program("poly", "scale=5", lambda: poly(5.0))
    assert float(other(np.arange(4.0), 2)) == 5 * 14 + 2  # not the scale=3 program
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(5.0), 2)  # another shape
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(4, dtype=np.int32), 2)  # another dtype
    assert len(list(cache.iterdir())) == 4


def test_no_key_or_cache_off_keeps_nothing(cache, monkeypatch):
    assert float(aot.program("poly", None, lambda: poly(2.0))(np.ones(3), 0)) == 6
    assert not cache.exists()
    monkeypatch.setenv("SCALING_JAX_CACHE", "off")
    assert aot.exported_dir() is None
    assert float(aot.program("poly", "scale=2", lambda: poly(2.0))(np.ones(3), 0)) == 6
    assert not cache.exists() and not (cache.parent / "off").exists()


def test_an_unreadable_file_is_rebuilt(cache, caplog):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(2), 0)
    (path,) = cache.iterdir()
    path.write_bytes(b"not a program")
    assert float(aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(2), 0)) == 6
    assert "Rebuilding the exported program" in caplog.text
    assert float(aot.program("poly", "scale=3", never)(np.ones(2), 0)) == 6  # the rebuilt file is good


def test_model_key_names_built_in_models_only():
    for name in LAWS:  # every built-in law, with its default options too
        assert aot.model_key(get_law(name)) is not None, name
    law = get_law("power_law")
    key = aot.model_key(law, delta=1e-3)
    assert key is not None and key == aot.model_key(get_law("power_law"), delta=1e-3)
    assert aot.model_key(law, delta=1e-2) != key
    tighter = law.with_priors({"alpha": {"dist": "Normal", "loc": 0.3, "scale": 0.1}})
    assert aot.model_key(tighter, delta=1e-3) != key
    lik = get_likelihood("lognormal")
    assert aot.model_key(law, lik) != aot.model_key(law, get_likelihood("studentt")) != aot.model_key(law)
    mine = replace(law, fn=lambda u, th: th["log_y0"] - th["alpha"] * u["x"])  # same spec, another function
    assert aot.model_key(mine) is None


WARM_FIT = """
import json, sys
import scaling
from scaling.prediction import predict
dt = scaling.fit_point(sys.argv[1], "power_law", x="flop", y="loss")
curve = predict(dt, [1e19, 1e22])
print(json.dumps({"alpha": float(dt.posterior["alpha"][0]), "curve": curve.values.ravel().tolist(),
                  "imported": sorted(m for m in ("optax", "numpyro") if m in sys.modules)}))
"""


def test_a_warm_point_fit_traces_nothing_and_imports_neither_optax_nor_numpyro(tmp_path):
    """The second process loads every program of a point fit (and its curve) from disk: it gives the
    first process's numbers without importing the libraries that built them."""
    rng = np.random.default_rng(1)
    x = np.logspace(18, 23, 30)
    y = 3.0 * (x / 1e18) ** -0.1 * np.exp(0.03 * rng.normal(size=30))
    csv = tmp_path / "data.csv"
    csv.write_text("flop,loss\n" + "".join(f"{a:.6e},{b:.6f}\n" for a, b in zip(x, y, strict=True)))
    env = {**os.environ, "SCALING_JAX_CACHE": str(tmp_path / "cache"), "JAX_PLATFORMS": "cpu"}
    env = {k: v for k, v in env.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    runs = []
    for _ in range(2):
        proc = subprocess.run(
            [sys.executable, "-c", WARM_FIT, str(csv)], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["imported"] == ["numpyro", "optax"] and warm["imported"] == []
    assert warm["alpha"] == cold["alpha"] and warm["curve"] == cold["curve"]
    assert abs(warm["alpha"] - 0.1) < 0.01
    assert len(list((tmp_path / "cache" / "exported").iterdir())) == 6  # draws, starts, objective, solver, ...


def test_a_program_export_cannot_keep_still_runs(cache, caplog):
    def build():
        return lambda x: jax.pure_callback(lambda v: v * 2, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    assert float(aot.program("callback", "k", build)(np.ones(1))[0]) == 2  # host callbacks cannot be exported
    assert "jax.export failed" in caplog.text and not cache.exists()


def test_the_least_recently_used_programs_go_first(cache, monkeypatch):
    monkeypatch.setattr(aot, "MAX_FILES", 2)
    for n in (2, 3):
        aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(n), 0)
    first = sorted(cache.iterdir(), key=lambda f: f.stat().st_mtime)[0]
    os.utime(first, (1, 1))  # long unused
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(4), 0)
    assert len(list(cache.iterdir())) == 2 and not first.exists()
