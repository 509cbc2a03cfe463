"""Process-wide JAX settings: the persistent compilation cache and CPU devices.

``import scaling`` turns on JAX's persistent compilation cache (so a new process
loads the compiled samplers from disk instead of compiling them again, as PyTensor
does for PyMC); the CLI also gives JAX one CPU device per core. Both only set
defaults: ``JAX_*`` variables or JAX config the user set win.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Persistent-cache settings by JAX config name (the environment variable is the upper-cased name).
#: Every program is cached, however quick to compile: a fit also compiles dozens of small ones
#: (prior draws, key splitting, transforms) that together cost about a second per process. The
#: folder is kept under 2 GiB by evicting the least recently used programs.
CACHE_DEFAULTS = {
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": 0,
    "jax_compilation_cache_max_size": 2 * 2**30,
}


def cache_dir() -> Path | None:
    """``$SCALING_JAX_CACHE`` (default ``~/.cache/scaling/jax``); None when it is ``off``."""
    where = os.environ.get("SCALING_JAX_CACHE", str(Path.home() / ".cache" / "scaling" / "jax"))
    return None if where.lower() == "off" else Path(where)


def enable_compilation_cache() -> None:
    """Use JAX's persistent compilation cache in :func:`cache_dir` (``SCALING_JAX_CACHE=off`` disables it).

    Before JAX is imported only environment defaults are set, so this costs no import;
    after, JAX's config is updated unless the user already chose a cache folder.
    """
    where = cache_dir()
    if where is None:
        return
    if "jax" not in sys.modules:
        os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(where))
        for key, value in CACHE_DEFAULTS.items():
            os.environ.setdefault(key.upper(), str(value))
        return
    import jax

    if jax.config.jax_compilation_cache_dir is None and "JAX_COMPILATION_CACHE_DIR" not in os.environ:
        jax.config.update("jax_compilation_cache_dir", str(where))
        for key, value in CACHE_DEFAULTS.items():
            jax.config.update(key, value)


def use_all_cpu_cores() -> None:
    """Give JAX one CPU device per core (``JAX_NUM_CPU_DEVICES``, unless the user set it).

    The engine splits independent chains and problems into one share per CPU device,
    sampled in parallel threads (see :func:`scaling.devices.local_devices`), so on a
    CPU-only machine every core samples. It has no effect on a GPU backend's
    devices and must happen before JAX starts, so the CLI does it at start-up; in
    Python, set ``JAX_NUM_CPU_DEVICES`` before importing JAX (or scaling) yourself.
    """
    os.environ.setdefault("JAX_NUM_CPU_DEVICES", str(os.cpu_count() or 1))
