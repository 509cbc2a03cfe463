"""Process-wide JAX settings, set only when asked: the persistent compilation cache and CPU devices.

``import scaling`` changes no JAX setting. The CLI turns both on at start-up; in Python call
:func:`enable_compilation_cache` yourself (notebooks do). Both only set defaults: ``JAX_*``
variables or JAX config the user set win.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Persistent-cache settings by JAX config name: every program is cached, however quick to compile
#: (a fit compiles dozens of small ones beside the sampler).
CACHE_DEFAULTS = {
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": 0,
}


def compilation_cache_dir() -> Path | None:
    """``$SCALING_JAX_CACHE`` (default ``~/.cache/scaling/jax``); None when it is ``off``."""
    where = os.environ.get("SCALING_JAX_CACHE", str(Path.home() / ".cache" / "scaling" / "jax"))
    return None if where.lower() == "off" else Path(where)


def enable_compilation_cache() -> Path | None:
    """Turn on JAX's persistent compilation cache in :func:`compilation_cache_dir`, through JAX's public
    config: a new process then loads compiled samplers from disk instead of compiling them again.

    Does nothing when ``SCALING_JAX_CACHE=off`` or when the user already chose a cache folder
    (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``). Returns the folder in use (None: off).

    >>> import scaling
    >>> folder = scaling.enable_compilation_cache()
    """
    import jax

    where = compilation_cache_dir()
    if where is None:
        return None
    if jax.config.jax_compilation_cache_dir is not None or "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return Path(jax.config.jax_compilation_cache_dir or os.environ["JAX_COMPILATION_CACHE_DIR"])
    jax.config.update("jax_compilation_cache_dir", str(where))
    for key, value in CACHE_DEFAULTS.items():
        jax.config.update(key, value)
    return where


def use_all_cpu_cores() -> None:
    """Give JAX one CPU device per core (``JAX_NUM_CPU_DEVICES``, unless the user set it).

    The engine splits independent chains and problems into one share per CPU device,
    sampled in parallel threads (see :func:`scaling.infer.devices.local_devices`), so on a
    CPU-only machine every core samples. It must happen before JAX starts, so the CLI does it at
    start-up; in Python, set ``JAX_NUM_CPU_DEVICES`` before importing JAX (or scaling) yourself.
    """
    os.environ.setdefault("JAX_NUM_CPU_DEVICES", str(os.cpu_count() or 1))
