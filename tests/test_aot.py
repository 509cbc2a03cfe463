"""Programs kept on disk (scaling.aot): the traced program (exported StableHLO) and the executable
compiled from it, reused across processes, rebuilt when they should be; a warm point fit that
imports neither optax, numpyro nor scipy, and a warm NUTS fit that traces nothing."""

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
    return tmp_path / "programs"


def poly(scale: float):
    def f(x, n):
        return jnp.sum(scale * x**2) + n

    return f


def never():
    raise AssertionError("the program was traced again instead of loaded")


def kept(cache, suffix):
    return sorted(cache.glob(f"*{suffix}"))


def test_a_new_process_loads_the_executable_instead_of_tracing_it(cache):
    x = np.arange(4.0)
    first = aot.program("poly", "scale=3", lambda: poly(3.0))
    want = first(x, 2)
    assert len(kept(cache, aot.EXPORT_SUFFIX)) == 1 and len(kept(cache, aot.EXECUTABLE_SUFFIX)) == 1
    assert float(want) == 3 * 14 + 2
    again = aot.program("poly", "scale=3", never)  # what a new process builds: nothing traced
    assert float(again(x, 2)) == float(want) and float(again(x + 1, 5)) == 3 * 30 + 5
    assert len(list(cache.iterdir())) == 2  # same signature, same files


def test_another_placement_compiles_the_exported_program(cache):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(4.0), 2)
    (exe,) = kept(cache, aot.EXECUTABLE_SUFFIX)
    exe.unlink()  # as on a device the executable was not compiled for: the exported program is reused
    assert float(aot.program("poly", "scale=3", never)(np.arange(4.0), 2)) == 3 * 14 + 2
    assert len(kept(cache, aot.EXECUTABLE_SUFFIX)) == 1


def test_keys_and_signatures_name_different_files(cache):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(4.0), 2)
    other = aot.program("poly", "scale=5", lambda: poly(5.0))
    assert float(other(np.arange(4.0), 2)) == 5 * 14 + 2  # not the scale=3 program
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(5.0), 2)  # another shape
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.arange(4, dtype=np.int32), 2)  # another dtype
    assert len(kept(cache, aot.EXPORT_SUFFIX)) == len(kept(cache, aot.EXECUTABLE_SUFFIX)) == 4


def test_no_key_or_cache_off_keeps_nothing(cache, monkeypatch):
    builds = []
    prog = aot.program("poly", None, lambda: builds.append(1) or poly(2.0))
    assert float(prog(np.ones(3), 0)) == 6 and float(prog(np.ones(4), 1)) == 9
    assert float(prog(jax.device_put(np.ones(3), jax.devices()[-1]), 0)) == 6  # another placement
    assert len(builds) == 1  # one jitted function for every signature and placement
    assert not cache.exists()
    monkeypatch.setenv("SCALING_JAX_CACHE", "off")
    assert aot.programs_dir() is None
    assert float(aot.program("poly", "scale=2", lambda: poly(2.0))(np.ones(3), 0)) == 6
    assert not cache.exists() and not (cache.parent / "off").exists()


@pytest.mark.parametrize("suffix", [aot.EXPORT_SUFFIX, aot.EXECUTABLE_SUFFIX])
def test_an_unreadable_file_is_rebuilt(cache, caplog, suffix):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(2), 0)
    for path in cache.iterdir():  # the executable goes too, so that the exported program is read
        path.write_bytes(b"not a program") if path.suffix == suffix else path.unlink()
    assert float(aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(2), 0)) == 6
    assert ("Rebuilding the exported program" if suffix == aot.EXPORT_SUFFIX else "Rebuilding the executable") in (
        caplog.text
    )
    assert float(aot.program("poly", "scale=3", never)(np.ones(2), 0)) == 6  # the rebuilt files are good


def test_an_executable_that_fails_to_run_is_compiled_again(cache, caplog):
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(2), 0)
    (path,) = kept(cache, aot.EXECUTABLE_SUFFIX)
    calls = []

    def broken(*args):
        calls.append(args)
        raise jax.errors.JaxRuntimeError("NOT_FOUND: Function fusion not found")

    checked = aot.Checked(broken, path, lambda *a: jax.jit(poly(3.0)))
    assert float(checked(np.ones(2), 0)) == 6 and float(checked(np.ones(3), 1)) == 10
    assert len(calls) == 1 and not path.exists() and "Rebuilding the executable" in caplog.text


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
                  "imported": sorted(m for m in ("optax", "numpyro", "scipy") if m in sys.modules)}))
"""


def test_a_warm_point_fit_traces_nothing_and_imports_neither_optax_nor_numpyro(tmp_path):
    """The second process loads every executable of a point fit (and its curve) from disk: it gives
    the first process's numbers without importing the libraries that built them, nor scipy (which
    JAX imports when it lowers a program on CPU)."""
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
    assert {"numpyro", "optax"} <= set(cold["imported"]) and warm["imported"] == []
    assert warm["alpha"] == cold["alpha"] and warm["curve"] == cold["curve"]
    assert abs(warm["alpha"] - 0.1) < 0.01
    programs = tmp_path / "cache" / "programs"  # draws, starts, objective, solver, transforms, curve
    assert len(kept(programs, aot.EXPORT_SUFFIX)) == len(kept(programs, aot.EXECUTABLE_SUFFIX)) == 6


def test_a_program_export_cannot_keep_still_runs(cache, caplog):
    def build():
        return lambda x: jax.pure_callback(lambda v: v * 2, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    assert float(aot.program("callback", "k", build)(np.ones(1))[0]) == 2  # host callbacks cannot be exported
    assert "jax.export failed" in caplog.text and not cache.exists()


def test_the_least_recently_used_programs_go_first(cache, monkeypatch):
    monkeypatch.setattr(aot, "MAX_FILES", 2)
    for n in (2, 3):
        aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(n), 0)
    first = sorted(kept(cache, aot.EXECUTABLE_SUFFIX), key=lambda f: f.stat().st_mtime)[0]
    os.utime(first, (1, 1))  # long unused
    aot.program("poly", "scale=3", lambda: poly(3.0))(np.ones(4), 0)
    assert len(kept(cache, aot.EXECUTABLE_SUFFIX)) == len(kept(cache, aot.EXPORT_SUFFIX)) == 2
    assert not first.exists()


FRESH = """
import json, sys
from pathlib import Path
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_compilation_cache_dir", sys.argv[1] + "/xla")
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
from scaling import aot

def build():
    return lambda k, x: jnp.sum(jax.random.gamma(k, x)) + jnp.linalg.cholesky(jnp.eye(3) * x[0]).sum()

args = (jax.random.key(0), np.arange(1.0, 6.0))
if sys.argv[2] == "first":
    aot.program("fresh", "v1", build)(*args)
    folder = Path(sys.argv[1]) / "programs"
    for exe in folder.glob("*" + aot.EXECUTABLE_SUFFIX):
        exe.unlink()
    (path,) = folder.glob("*" + aot.EXPORT_SUFFIX)
    exported = jax.export.deserialize(bytearray(path.read_bytes()))
    jax.jit(exported.call).lower(*args).compile()  # JAX's own cache now holds this very executable
print(json.dumps(float(aot.program("fresh", "v1", build)(*args))))
"""


def test_executables_are_kept_from_a_fresh_compile(tmp_path):
    """An executable that JAX's persistent compilation cache returns cannot be serialised again (XLA:CPU
    leaves its kernels out, and the copy fails with "Function ... not found" where it runs): the kept
    one is compiled afresh even when that cache holds it, and a later process runs it as it is."""
    env = {**os.environ, "SCALING_JAX_CACHE": str(tmp_path), "JAX_PLATFORMS": "cpu"}
    env = {k: v for k, v in env.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    outs = []
    for step in ("first", "load", "load"):
        proc = subprocess.run([sys.executable, "-c", FRESH, str(tmp_path), step], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "Rebuilding" not in proc.stderr, proc.stderr[-2000:]
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert outs[0] == outs[1] == outs[2]
    assert list((tmp_path / "xla").iterdir())  # JAX's cache was on and held the program


WARM_NUTS = """
import json, sys
import numpy as np, scaling
from scaling import engine
x = np.logspace(18, 23, 20)
y = 3.0 * (x / 1e18) ** -0.1 * np.exp(0.03 * np.sin(np.arange(20)))
dt = scaling.fit({"flop": x, "loss": y}, "power_law", x="flop", y="loss", num_warmup=150, num_samples=100,
                 num_chains=2, seed=3, progress=False)
print(json.dumps({"alpha": dt.posterior["alpha"].values.ravel().tolist(), "traces": dict(engine.TRACES)}))
"""


def test_a_warm_nuts_fit_loads_the_sampler_instead_of_tracing_it(tmp_path):
    """A second process loads the NUTS engine's three executables (dense mass matrix: they call LAPACK,
    which is set up first) and gives the same draws without tracing numpyro's NUTS."""
    env = {**os.environ, "SCALING_JAX_CACHE": str(tmp_path), "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "2"}
    env = {k: v for k, v in env.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", WARM_NUTS], env=env, cwd=REPO, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["traces"] == {"init": 1, "chunk": 1, "finish": 1} and warm["traces"] == {}
    assert warm["alpha"] == cold["alpha"]
    assert len(list((tmp_path / "programs").glob("nuts-*" + aot.EXECUTABLE_SUFFIX))) == 1


SECOND_FIT = """
import json, logging
import jax, numpy as np, scaling
x = np.logspace(18, 23, 12)
data = {"flop": x, "loss": 3.0 * (x / 1e18) ** -0.1 * np.exp(0.02 * np.sin(np.arange(12)))}
fit = lambda seed: scaling.fit(data, "power_law", x="flop", y="loss", num_warmup=50, num_samples=50,
                               num_chains=1, seed=seed, progress=False)
fit(0)  # traces the sampler: imports numpyro
compiles = []
handler = logging.Handler()
handler.emit = lambda record: compiles.append(record.getMessage()) if "Compiling" in record.getMessage() else None
logging.getLogger("jax").addHandler(handler)
with jax.log_compiles(True):
    fit(1)
print(json.dumps(compiles))
"""


def test_a_fit_after_the_first_compiles_nothing():
    """The first fit of a process imports numpyro to trace the sampler; numpyro's import of jax.extend
    must not drop the executables JAX compiled before it (the next fit would compile its eager
    operations again, 0.5-1 s): scaling.laws imports jax.extend with JAX."""
    env = {**os.environ, "SCALING_JAX_CACHE": "off", "JAX_PLATFORMS": "cpu"}
    env = {k: v for k, v in env.items() if not k.startswith(("JAX_COMPILATION", "JAX_PERSISTENT"))}
    proc = subprocess.run([sys.executable, "-c", SECOND_FIT], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
