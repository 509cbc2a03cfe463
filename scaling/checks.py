"""Up-front parameter checks shared by the library and the CLI (sklearn-style messages that say what to pass).

Each check returns the cleaned value or raises :class:`~scaling.errors.ScalingError` naming the
parameter and where it was passed (a function, a CLI option or a spec key).
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from scaling.errors import ScalingError

#: Seeds are 32-bit: ``jax.random.key(seed)`` takes 0 <= seed < 2**32.
SEED_MAX = 2**32 - 1


def check_int(name: str, value: Any, low: int, where: str, high: int | None = None) -> int:
    """``int(value)``, or a ScalingError naming the parameter and the function ``where`` it was passed to."""
    top = "inf" if high is None else str(high)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, np.integer))
        or value < low
        or (high is not None and value > high)
    ):
        raise ScalingError(
            f"The {name!r} parameter of {where} must be an int in the range [{low}, {top}]. Got {value!r} instead."
        )
    return int(value)


def _number(name: str, value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ScalingError(f"The {name!r} parameter of {where} must be a number. Got {value!r} instead.")
    return float(value)


def check_finite(name: str, value: Any, where: str, *, positive: bool = False, low: float | None = None) -> float:
    """A finite number (``positive``: > 0; ``low``: >= low)."""
    v = _number(name, value, where)
    if not math.isfinite(v) or (positive and v <= 0) or (low is not None and v < low):
        rule = "a finite number" + (" > 0" if positive else f" >= {low:g}" if low is not None else "")
        raise ScalingError(f"The {name!r} parameter of {where} must be {rule}. Got {value!r} instead.")
    return v


def check_prob(value: Any, where: str, name: str = "prob") -> float:
    """A verdict's probability threshold: in (0.5, 1), so at most one verdict can hold."""
    v = _number(name, value, where)
    if not 0.5 < v < 1:
        raise ScalingError(
            f"The {name!r} parameter of {where} must be a probability in (0.5, 1), e.g. 0.9. Got {value!r} instead."
        )
    return v


def check_seed(value: Any, where: str, name: str = "seed") -> int:
    """A PRNG seed as an int in [0, 2**32 - 1]: an int, or a JAX PRNG key (``jax.random.key`` or the raw
    ``jax.random.PRNGKey``), read as its last 32-bit word (so ``jax.random.key(s)`` gives ``s``).

    >>> check_seed(7, "f")
    7
    """
    if getattr(value, "dtype", None) is not None and not isinstance(value, np.integer) and np.ndim(value) <= 1:
        import jax
        import jax.numpy as jnp

        if jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
            return int(np.asarray(jax.random.key_data(value)).ravel()[-1])
        if value.dtype == np.uint32 and np.shape(value) == (2,):
            return int(np.asarray(value)[-1])
    return check_int(name, value, 0, where, high=SEED_MAX)


def available_memory() -> int | None:
    """Bytes of physical memory available now (``os.sysconf`` pages), or None where it is not known."""
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(need: int, where: str, setting: str, per_unit: int | None = None, name: str | None = None) -> None:
    """Refuse settings whose arrays (``need`` bytes) would not fit in available memory.

    ``per_unit``: bytes per unit of the setting ``name``, so the message can give the largest value that fits.
    """
    available = available_memory()
    if available is None or need <= available:
        return
    largest = available // per_unit if per_unit else 0
    hint = f"; the largest {name} that fits is about {largest:,}" if name and largest >= 1 else ""
    raise ScalingError(
        f"{where}: {setting} would need about {_size(need)} of memory, and {_size(available)} is "
        f"available{hint}. Lower it."
    )


def draws_bytes(num_samples: int, num_chains: int, n_problems: int, n_points: int, n_params: int) -> int:
    """Bytes a NUTS fit holds: per draw, float64 ``mu``, ``log_likelihood`` and posterior predictive per
    point (3 x points) plus the parameters, for every chain and problem; x2 for the copies made while
    building the DataTree."""
    per_draw = 8 * (3 * n_points + n_params + 8)
    return 2 * per_draw * num_samples * num_chains * max(n_problems, 1)


def check_draws(num_samples: int, num_chains: int, n_problems: int, n_points: int, n_params: int, where: str) -> None:
    """Refuse a fit whose stored draws (see :func:`draws_bytes`) exceed available memory, naming the largest
    ``num_samples`` that fits with these chains."""
    need = draws_bytes(num_samples, num_chains, n_problems, n_points, n_params)
    per = draws_bytes(1, num_chains, n_problems, n_points, n_params)
    setting = f"num_samples={num_samples:,} with num_chains={num_chains:,}"
    if n_problems > 1:
        setting += f" and {n_problems:,} problems"
    check_memory(need, where, setting + f" ({n_points:,} points)", per_unit=per, name="num_samples")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


#: The gross-margin rule of every planning function, the ``[plan]`` spec table and ``scaling plan``.
#: The gross margin is ``g = (R - cost of revenue) / R``; compute is paid from the cost of revenue,
#: ``s (1 - g) R`` a year, so at ``g = 1`` nothing pays for compute (and the newsvendor's
#: underbuying cost ``g d / (s (1 - g))`` is infinite); at ``g = 0`` a shortfall loses no gross profit.
GROSS_MARGIN_RULE = (
    "in (0, 1): gross profit over revenue (e.g. 0.8); compute is paid from the cost of revenue, (1 - gross_margin) "
    "of revenue, none of which is left at 1"
)


def gross_margin_ok(value: Any) -> bool:
    """Whether ``value`` keeps :data:`GROSS_MARGIN_RULE`: a number strictly between 0 and 1."""
    try:
        return 0.0 < float(value) < 1.0
    except (TypeError, ValueError):
        return False


def check_gross_margin(value: Any, where: str) -> float:
    """``float(value)`` when it keeps :data:`GROSS_MARGIN_RULE`, else a ScalingError naming ``where``.

    >>> check_gross_margin(0.8, "plan")
    0.8
    """
    if isinstance(value, bool) or not gross_margin_ok(value):
        raise ScalingError(f"{where}: 'gross_margin' must be {GROSS_MARGIN_RULE}. Got {value!r}.")
    return float(value)
