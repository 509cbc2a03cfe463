"""Where a batch of independent runs goes (``device="auto" | "cpu" | "accelerator"``) and the
devices its parallel shares run on.

Shared by the NUTS engine (:mod:`scaling.engine`) and the point fits (:mod:`scaling.point`);
it imports JAX only (no numpyro), so a point fit does not pay for importing the sampler.
"""

from __future__ import annotations

from typing import Any

import jax

from scaling.errors import ScalingError

#: ``device="auto"`` keeps a batch on the CPU, even with an accelerator present, when it has at most this
#: many NUTS runs per CPU device. An accelerator pays a fixed cost per NUTS step (every leapfrog step a
#: few kernel launches, all runs waiting for the longest tree) that only many runs in lock-step amortise.
#: Measured on an H100 machine with 16 CPU devices (``bench/w5_device.py``, 30-point W3 datasets,
#: 4 chains x 2,000 steps): 1 dataset (4 runs) 0.55 s on the CPU against 6.5 s on the GPU, 8 (32 runs)
#: 1.0 s against 8.3 s, 32 (128 runs) 3.6 s against 12.2 s, and 10,000 took the GPU 0.0033 s per run
#: more. A CPU device takes about 0.45 s per run. With one CPU device (JAX's default in Python) the two
#: meet near 16 runs (about 7 s each, the GPU adding about 0.045 s per run at that size); with 16 CPU
#: devices near 30 runs per device (about 480 runs, 13-14 s). The limit takes the lower figure, which
#: also leaves room for slower cores and larger datasets.
CPU_RUNS_PER_DEVICE = 16


#: The values of the ``device`` parameter of :func:`scaling.engine.run` (and of ``fit``, ``fit_many``, ``fit_point``).
DEVICES = ("auto", "cpu", "accelerator")


def check_device(device: str, caller: str) -> str:
    """Raise if ``device`` is not one of :data:`DEVICES`, or is ``"accelerator"`` on a machine without
    one (the message names ``caller``); returns JAX's default backend."""
    if device not in DEVICES:
        raise ScalingError(f"The 'device' parameter of {caller} must be one of {DEVICES}. Got {device!r} instead.")
    default = jax.default_backend()
    if device == "accelerator" and default == "cpu":
        raise ScalingError(
            "device='accelerator', but JAX finds no accelerator (its default backend is the CPU). "
            "Install JAX for your GPU (pip install -e .[cuda]) or pass device='auto'."
        )
    return default


def platform(n_runs: int, device: str = "auto", *, cpu_limit: int | None = None, caller: str = "run") -> str:
    """The JAX platform (``"cpu"``, ``"gpu"``, ...) a batch of ``n_runs`` independent runs goes to.

    ``device``: ``"cpu"``; ``"accelerator"`` (JAX's default backend, which must not be the CPU);
    ``"auto"``: the CPU when JAX has no accelerator or when the batch has at most ``cpu_limit`` runs
    (default :data:`CPU_RUNS_PER_DEVICE` per CPU device; small batches finish sooner there), else the
    accelerator (also when JAX was started without its CPU backend). ``device="cpu"`` does not stop
    JAX from starting the GPU and reserving its memory; ``JAX_PLATFORMS=cpu`` does. ``caller``
    names the function in the messages of invalid choices.
    """
    default = check_device(device, caller)
    if default == "cpu":
        return "cpu"
    try:
        n_cpu = len(jax.devices("cpu"))
    except RuntimeError:  # JAX started without its CPU backend (JAX_PLATFORMS=cuda, ...)
        if device == "cpu":
            raise ScalingError(
                "device='cpu', but JAX was started without its CPU backend (see JAX_PLATFORMS). "
                "Pass device='auto' or 'accelerator'."
            ) from None
        return default
    limit = CPU_RUNS_PER_DEVICE * n_cpu if cpu_limit is None else cpu_limit
    if device == "cpu" or (device == "auto" and n_runs <= limit):
        return "cpu"
    return default


def local_devices(backend: str | None = None) -> list[Any]:
    """The device of each parallel share of the runs: every device of ``backend`` (a JAX
    platform name; default: JAX's default backend), except on CPU, where the first CPU device
    is listed once per CPU device (shares run in threads on it: one compiled program instead
    of one per device, the cores used alike)."""
    devices = jax.devices(backend)
    return [devices[0]] * len(devices) if devices[0].platform == "cpu" else devices


def on_devices(fn: Any, parts: list[Any], devices: list[Any]) -> list[Any]:
    """``[fn(part, device) for part, device in zip(parts, devices)]``, one thread per part, so
    the parts compile and run concurrently (a single part runs inline)."""
    if len(parts) == 1:
        return [fn(parts[0], devices[0])]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(parts)) as pool:
        return list(pool.map(fn, parts, devices))
