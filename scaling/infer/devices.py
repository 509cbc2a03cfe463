"""Where a batch of independent runs goes (``device="auto" | "cpu" | "accelerator"``) and the
devices its parallel shares run on.

Shared by the NUTS engine (:mod:`scaling.infer.engine`) and the point fits (:mod:`scaling.point`);
it imports JAX only (no numpyro), so a point fit does not pay for importing the sampler.
"""

from __future__ import annotations

from typing import Any

import jax

from scaling.errors import ScalingError

#: ``device="auto"`` keeps a batch on the CPU, even with an accelerator present, when it has at most this
#: many NUTS runs (chains x problems) per CPU device. Time on a CPU device grows about linearly with its
#: runs, ``t_cpu = c n / devices``; an accelerator pays a large fixed cost per NUTS step (a few kernel
#: launches per leapfrog step, all runs waiting for the longest tree) and a small cost per run,
#: ``t_acc = F + a n``, so the CPU wins below ``n / devices = F / (c - a devices)``. The crossover
#: measured by ``bench/w5_device.py`` (numbers in ``bench/results/gpu/w5.jsonl``) lies between 16 and
#: 30 runs per device for 30-point datasets; the limit takes the lower end, which also leaves room for
#: slower cores and larger datasets.
CPU_RUNS_PER_DEVICE = 16


#: The values of the ``device`` parameter of :func:`scaling.infer.engine.run` (and of ``fit``, ``fit_point``).
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
