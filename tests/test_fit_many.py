"""fit_many: one compiled sampler for many problems."""

import json
import logging
import re

import jax
import numpy as np
import pytest

import scaling
from scaling.infer import devices, engine

SETTINGS = {"num_warmup": 200, "num_samples": 200, "num_chains": 2}


def problems(sizes=(20, 25, 30), seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i, n in enumerate(sizes):
        x = np.logspace(18, 23, n)
        alpha = 0.1 + 0.05 * i
        out[f"p{i}"] = {"flop": x, "loss": 3.0 * (x / 1e18) ** -alpha * np.exp(0.03 * rng.normal(size=n))}
    return out


@pytest.fixture(scope="module")
def batch():
    data = problems()
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(7), i))(np.arange(3))
    return data, keys, scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, **SETTINGS)


def test_layout(batch):
    data, _, dt = batch
    assert dict(dt.posterior["alpha"].sizes) == {"chain": 2, "draw": 200, "problem": 3}
    assert list(dt.posterior["problem"].values) == ["p0", "p1", "p2"]
    ll = dt.log_likelihood["y"]
    assert dict(ll.sizes) == {"chain": 2, "draw": 200, "point": 30, "problem": 3}
    assert np.isnan(ll.sel(problem="p0").values[..., 20:]).all()
    assert np.isfinite(ll.sel(problem="p2").values).all()
    assert list(dt.constant_data["n_points"].values) == [20, 25, 30]
    means = dt.posterior["alpha"].mean(("chain", "draw")).values
    np.testing.assert_allclose(means, [0.1, 0.15, 0.2], atol=0.02)


def test_equals_separate_fits_with_same_keys(batch):
    data, keys, dt = batch
    for i, (name, d) in enumerate(data.items()):
        one = scaling.fit_many({name: d}, "power_law", x="flop", y="loss", seed=keys[i : i + 1], **SETTINGS)
        np.testing.assert_allclose(
            one.posterior["alpha"].values[..., 0], dt.posterior["alpha"].sel(problem=name).values, rtol=1e-5, atol=1e-6
        )
        single = scaling.fit(d, "power_law", x="flop", y="loss", seed=keys[i], **SETTINGS)
        np.testing.assert_allclose(
            single.posterior["alpha"].values, dt.posterior["alpha"].sel(problem=name).values, rtol=1e-5, atol=1e-6
        )


def test_second_call_compiles_nothing(batch, caplog):
    data, keys, _ = batch
    new = {k: {"flop": v["flop"], "loss": v["loss"] * 1.1} for k, v in data.items()}
    before = dict(engine.TRACES)
    with jax.log_compiles(True), caplog.at_level(logging.WARNING):
        caplog.clear()
        dt = scaling.fit_many(new, "power_law", x="flop", y="loss", seed=keys, **SETTINGS)
        compiles = [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]
        jax.jit(lambda v: v * 3.0 + 1.0)(np.ones(7))  # control: a new program must show up in the log
        control = [r.getMessage() for r in caplog.records if "ompil" in r.getMessage()]
    assert dict(engine.TRACES) == before
    assert compiles == [], compiles[:3]
    assert len(control) > 0, "compile logging was not captured; the check above would be vacuous"
    assert dt.posterior.sizes["problem"] == 3


def test_vmap_mode_agrees_with_map_mode(batch):
    data, keys, dt = batch
    vm = scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, batch_mode="vmap", **SETTINGS)
    a, b = vm.posterior["alpha"].mean(("chain", "draw")), dt.posterior["alpha"].mean(("chain", "draw"))
    sd = dt.posterior["alpha"].std(("chain", "draw"))
    assert (abs(a - b) < 0.5 * sd).all()


def test_engine_agrees_with_numpyro_mcmc():
    """Same model through numpyro's MCMC front end gives the same posterior (within MC error)."""

    import jax.numpy as jnp
    from numpyro.infer import MCMC, NUTS

    from scaling.models.model import resolve

    d = problems(sizes=(30,))["p0"]
    dt = scaling.fit(d, "power_law", x="flop", y="loss", num_warmup=500, num_samples=1000, num_chains=2, seed=3)
    model = resolve("power_law")
    prep = scaling.prepare(d, model, x="flop", y="loss")
    mcmc = MCMC(
        NUTS(model.numpyro()),
        num_warmup=500,
        num_samples=1000,
        num_chains=2,
        chain_method="sequential",
        progress_bar=False,
    )
    mcmc.run(
        jax.random.key(4),
        {k: jnp.asarray(v) for k, v in prep.centred().items()},
        jnp.asarray(prep.y),
        center={k: jnp.asarray(v) for k, v in prep.center.items()},
        y_scale=jnp.asarray(prep.y_scale),
    )
    ref = mcmc.get_samples()
    for name in ("alpha", "log_A", "sigma"):
        ours = dt.posterior[name].values.ravel()
        assert abs(ours.mean() - float(ref[name].mean())) < 0.1 * float(ref[name].std()), name
        assert ours.std() == pytest.approx(float(ref[name].std()), rel=0.15), name


def test_bad_arguments():
    with pytest.raises(ValueError, match="The 'num_chains' parameter of fit_many must be an int in the range"):
        scaling.fit_many(problems(), "power_law", x="flop", y="loss", num_chains=0)
    with pytest.raises(ValueError, match="at least one dataset"):
        scaling.fit_many({}, "power_law", x="flop", y="loss")
    with pytest.raises(ValueError, match="one key per dataset"):
        scaling.fit_many(problems(), "power_law", x="flop", y="loss", seed=jax.random.split(jax.random.key(0), 2))
    with pytest.raises(ValueError, match=r"The 'device' parameter of fit_many must be one of \('auto', 'cpu'"):
        scaling.fit_many(problems(), "power_law", x="flop", y="loss", device="gpu0")
    if jax.default_backend() == "cpu":
        with pytest.raises(ValueError, match="JAX finds no accelerator.*device='auto'"):
            scaling.fit(problems()["p0"], "power_law", x="flop", y="loss", device="accelerator", **SETTINGS)
        with pytest.raises(ValueError, match="JAX finds no accelerator"):  # before any chunk is tried
            scaling.fit_survey(problems(), "power_law", x="flop", y="loss", device="accelerator", chunk_size=1)


def test_platform_keeps_small_batches_on_the_cpu(monkeypatch):
    """With an accelerator, device='auto' sends at most CPU_RUNS_PER_DEVICE runs per CPU device to the CPU."""
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    limit = devices.CPU_RUNS_PER_DEVICE * len(jax.devices("cpu"))
    assert devices.platform(4) == devices.platform(limit) == "cpu"
    assert devices.platform(limit + 1) == devices.platform(1, "accelerator") == "gpu"
    assert devices.platform(10**6, "cpu") == "cpu"
    assert devices.platform(32, cpu_limit=32) == "cpu" and devices.platform(33, cpu_limit=32) == "gpu"
    assert engine.default_batch_mode("cpu") == "map" and engine.default_batch_mode("gpu") == "vmap"


def test_small_batches_run_on_the_cpu_beside_an_accelerator(batch, monkeypatch):
    """A fit_many small enough for the CPU runs there (map mode, CPU devices) when JAX's default backend
    is a GPU: the same draws as on a CPU-only machine. Were it sent to the (absent) GPU, jax.devices('gpu')
    would raise."""
    data, keys, fit = batch
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert devices.platform(6) == "cpu"  # 3 problems x 2 chains
    again = scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, **SETTINGS)
    np.testing.assert_array_equal(again.posterior["alpha"].values, fit.posterior["alpha"].values)
    forced = scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, device="cpu", **SETTINGS)
    np.testing.assert_array_equal(forced.posterior["alpha"].values, fit.posterior["alpha"].values)
    assert "device" not in json.loads(forced.attrs["spec"])["sampler"]  # where it ran is not the model
    assert forced.attrs["spec_id"] == fit.attrs["spec_id"]


def test_platform_without_a_cpu_backend(monkeypatch):
    """JAX started without its CPU backend (JAX_PLATFORMS=cuda): 'auto' takes the accelerator, 'cpu' says why not."""
    real = jax.devices

    def without_cpu(backend=None):
        if backend == "cpu":
            raise RuntimeError("Unknown backend: 'cpu' requested")
        return real(backend)

    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(jax, "devices", without_cpu)
    assert devices.platform(4) == "gpu"
    with pytest.raises(ValueError, match="without its CPU backend"):
        devices.platform(4, "cpu")


def test_chunked_jobs_pick_the_device_once(batch, monkeypatch):
    """In chunks, device='auto' is decided for the whole job, not per chunk, so the chunks run where a
    one-piece call would (the same draws). With a limit between a chunk's runs (2) and the job's (6)
    every chunk is sent to the accelerator. The engine's device argument is recorded, and the runs
    then go to the CPU (the same draws on any machine)."""
    data, keys, fit = batch
    sent = []
    real = engine.run

    def record(*args, device, **kw):
        sent.append(device)
        return real(*args, device="cpu", **kw)

    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    monkeypatch.setattr(engine, "run", record)
    chunked = scaling.fit_survey(data, "power_law", x="flop", y="loss", seed=keys, chunk_size=1, **SETTINGS)
    np.testing.assert_array_equal(chunked.posterior["alpha"].values, fit.posterior["alpha"].values)
    assert sent == ["cpu"] * 3
    monkeypatch.setattr(devices, "CPU_RUNS_PER_DEVICE", 3 / len(jax.devices("cpu")))  # limit: 3 runs
    assert devices.platform(2) == "cpu" and devices.platform(6) == "gpu"
    sent.clear()
    chunked = scaling.fit_survey(data, "power_law", x="flop", y="loss", seed=keys, chunk_size=1, **SETTINGS)
    assert sent == ["accelerator"] * 3
    np.testing.assert_array_equal(chunked.posterior["alpha"].values, fit.posterior["alpha"].values)


SHARDED = """
import json, sys
import jax, numpy as np, scaling
sys.path.insert(0, {root!r})
from tests.test_fit_many import SETTINGS, problems
from scaling.infer import devices, engine
keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(7), i))(np.arange(3))
out = {{"devices": len(jax.devices()), "shares": [str(d) for d in devices.local_devices()]}}
for chains in (2, 1):  # 6 runs split evenly, 3 runs padded to 4
    settings = {{**SETTINGS, "num_chains": chains}}
    dt = scaling.fit_many(problems(), "power_law", x="flop", y="loss", seed=keys, **settings)
    out[chains] = dt.posterior["alpha"].transpose("problem", "chain", "draw").values.tolist()
    out.setdefault("traces", dict(engine.TRACES))
print(json.dumps(out))
"""


def test_two_local_devices_give_the_same_posteriors(batch, tmp_path):
    """The run axis is split into one share per local device (here 2 CPU devices set before JAX
    starts); on CPU both shares run on the first device, from one compiled program."""
    import json
    import os
    import subprocess
    import sys

    from .conftest import REPO

    _, keys, dt = batch
    env = {**os.environ, "JAX_NUM_CPU_DEVICES": "2", "JAX_PLATFORMS": "cpu", "SCALING_JAX_CACHE": str(tmp_path / "jax")}
    proc = subprocess.run(
        [sys.executable, "-c", SHARDED.format(root=str(REPO))], env=env, capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["devices"] == 2 and out["shares"] == ["cpu:0", "cpu:0"]
    assert out["traces"] == {"init": 1, "chunk": 1, "finish": 1}  # compiled once for both shares
    one_device = dt.posterior["alpha"].transpose("problem", "chain", "draw").values
    np.testing.assert_allclose(np.array(out["2"]), one_device, rtol=1e-5, atol=1e-6)
    odd = scaling.fit_many(problems(), "power_law", x="flop", y="loss", seed=keys, **{**SETTINGS, "num_chains": 1})
    np.testing.assert_allclose(
        np.array(out["1"]), odd.posterior["alpha"].transpose("problem", "chain", "draw").values, rtol=1e-5, atol=1e-6
    )


def test_host_beta_draws():
    """Beta replicated y is drawn on the host: right moments, NaN on padding, the same per run however batched."""
    keys = jax.random.split(jax.random.key(3), 3)
    a = np.broadcast_to(np.array([2.0, 30.0, 0.5]), (3, 4000, 3)).copy()
    b = np.broadcast_to(np.array([5.0, 10.0, 0.5]), (3, 4000, 3)).copy()
    a[:, :, 2] = b[:, :, 2] = np.nan  # a padded point
    draws = engine.host_beta(keys, np.stack([a, b], axis=2))
    assert draws.shape == (3, 4000, 3) and np.isnan(draws[..., 2]).all()
    for j, (aj, bj) in enumerate([(2.0, 5.0), (30.0, 10.0)]):
        mean, var = aj / (aj + bj), aj * bj / ((aj + bj) ** 2 * (aj + bj + 1))
        assert abs(draws[..., j].mean() - mean) < 4 * np.sqrt(var / draws[..., j].size)
        assert abs(draws[..., j].var() / var - 1) < 0.05
    assert not np.array_equal(draws[0], draws[1])  # runs get their own streams
    np.testing.assert_array_equal(engine.host_beta(keys[1:2], np.stack([a, b], axis=2)[1:2])[0], draws[1])


def test_vmap_finish_in_batches_bounds_memory_and_keeps_results(batch, monkeypatch):
    """vmap mode builds the pointwise arrays in batches of runs (FINISH_ELEMENTS): the same values
    whatever the batch size, padding (NaN) included."""
    data, keys, _ = batch
    fit = lambda: scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, batch_mode="vmap", **SETTINGS)  # noqa: E731
    whole = fit()
    engine.kernels.cache_clear()
    # 200 draws x 30 points: batches of 2 runs, 6 runs in all -> three lax.map steps
    monkeypatch.setattr(engine, "FINISH_ELEMENTS", 2 * 200 * 30 + 1)
    try:
        parts = fit()
    finally:
        engine.kernels.cache_clear()
    np.testing.assert_array_equal(parts.posterior["alpha"].values, whole.posterior["alpha"].values)
    for group in ("log_likelihood", "posterior_predictive"):
        np.testing.assert_allclose(parts[group]["y"].values, whole[group]["y"].values, rtol=1e-6, equal_nan=True)
    assert np.isnan(parts.log_likelihood["y"].sel(problem="p0").values[..., 20:]).all()


def test_beta_replicates_drawn_on_the_device_off_cpu(monkeypatch):
    """Off CPU (yrep_on_host False) the device draws beta replicated y: in (0, 1), centred on the fit."""
    rng = np.random.default_rng(0)
    lx = np.linspace(20, 25, 25)
    mu = 0.25 + 0.6 / (1 + np.exp(-1.5 * (lx - 22.5)))
    d = {"flop": 10**lx, "score": rng.beta(mu * 200, (1 - mu) * 200)}
    settings = {"num_warmup": 150, "num_samples": 150, "num_chains": 2, "seed": 1}
    host = scaling.fit_many({"a": d}, "logistic", x="flop", y="score", **settings)
    monkeypatch.setattr(engine, "yrep_on_host", lambda likelihood, device: False)
    dev = scaling.fit_many({"a": d}, "logistic", x="flop", y="score", **settings)
    np.testing.assert_array_equal(dev.posterior["slope"].values, host.posterior["slope"].values)
    y_dev, y_host = dev.posterior_predictive["y"].values, host.posterior_predictive["y"].values
    ok = np.isfinite(y_host)
    assert np.array_equal(np.isfinite(y_dev), ok) and ((y_dev[ok] > 0) & (y_dev[ok] < 1)).all()
    assert not np.array_equal(y_dev[ok], y_host[ok])  # another generator, the same distribution:
    mean_dev, mean_host = np.nanmean(y_dev, axis=(0, 1)), np.nanmean(y_host, axis=(0, 1))
    sd_dev, sd_host = np.nanstd(y_dev, axis=(0, 1)), np.nanstd(y_host, axis=(0, 1))
    se = np.sqrt((sd_dev**2 + sd_host**2) / 300)  # of the difference of two 300-draw means (bound: theta is shared)
    assert (abs(mean_dev - mean_host) < 5 * se).all()
    np.testing.assert_allclose(sd_dev, sd_host, rtol=0.25)


def test_engine_logs_its_phases_at_info(batch, caplog):
    """At INFO the engine logs each phase's seconds per device as it ends (compile, init, sampling, ...)."""
    data, keys, _ = batch
    with caplog.at_level(logging.INFO, logger="scaling.infer.engine"):
        scaling.fit_many(data, "power_law", x="flop", y="loss", seed=keys, **SETTINGS)
    lines = [r.getMessage() for r in caplog.records if r.name == "scaling.infer.engine"]
    found = [re.fullmatch(r"(\S+) \((\d+) runs x 400 steps, map mode\): ([a-z ]+) [\d.]+ s", line) for line in lines]
    assert lines and all(found), lines
    by_device = {}
    for m in found:
        by_device.setdefault(m.group(1), []).append(m.group(3))
        runs = int(m.group(2))
    assert all(p == ["compile", "init", "sampling", "finish", "to host"] for p in by_device.values()), by_device
    assert runs * len(by_device) == 6  # 3 problems x 2 chains, shared over the devices
