"""Old public names that keep working for one release, with a :class:`DeprecationWarning` naming the new one.

The one vocabulary of the API (``docs/guide/vocabulary.md``) replaced some keyword names in 0.3.0
(``rng_key`` and ``keys`` by ``seed``, ``n_starts`` by ``num_starts``, ``fit_kwargs`` by ``sampler``, ...).
:func:`renamed` lets a function accept a retired keyword for one release: the function's signature
shows only the new name; a call with the old one warns, naming both, and is passed on under the new
name (through an optional conversion, e.g. one ``cutoff`` into the list ``cutoffs``). Giving both
names is an error. :func:`deprecated_alias` keeps a renamed function callable under its old name.

>>> import warnings
>>> @renamed(n_grid="num_grid")
... def curve(*, num_grid: int = 50) -> int:
...     return num_grid
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     curve(n_grid=10)
10
>>> str(caught[0].message)
"curve: the keyword 'n_grid' is deprecated since 0.3.0 and will be removed in 0.4.0; use 'num_grid' instead."
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from scaling.errors import ScalingError

#: The release that retired the old names, and the one that will remove them.
SINCE, REMOVED_IN = "0.3.0", "0.4.0"


def warn_renamed(old: str, new: str, where: str, *, what: str = "keyword", stacklevel: int = 3) -> None:
    """Warn (:class:`DeprecationWarning`) that ``old`` is retired in favour of ``new`` at ``where``."""
    warnings.warn(
        f"{where}: the {what} {old!r} is deprecated since {SINCE} and will be removed in {REMOVED_IN}; "
        f"use {new!r} instead.",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class Into(dict):
    """What a conversion of :func:`renamed` returns to pass an old keyword on as several new ones
    (``fit_kwargs`` into ``sampler`` and ``seed``)."""


def renamed(**aliases: str | tuple[str, Callable[[Any], Any]]) -> Callable[[Callable], Callable]:
    """Decorator: accept each retired keyword ``old`` of ``aliases`` as the new keyword ``aliases[old]``.

    A value may be ``(new, convert)``: the old keyword's value is passed on as ``convert(value)``
    (e.g. ``cutoff=("cutoffs", lambda c: [c])``), or as several keywords when ``convert`` returns an
    :class:`Into` mapping. The wrapped function keeps its own signature
    (``inspect.signature`` and the API reference show only the new names).
    """

    def decorate(func: Callable) -> Callable:
        where = func.__name__
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        positional = [p.name for p in inspect.signature(func).parameters.values() if p.kind in kinds]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, spec in aliases.items():
                if old not in kwargs:
                    continue
                new, convert = (spec, None) if isinstance(spec, str) else spec
                value = kwargs.pop(old)
                if new in kwargs or new in positional[: len(args)]:
                    raise ScalingError(f"{where}: give {new!r} only ({old!r} is its deprecated name), not both.")
                warn_renamed(old, new, where)
                value = convert(value) if convert is not None else value
                kwargs.update(value if isinstance(value, Into) else {new: value})
            return func(*args, **kwargs)

        wrapper.__deprecated_keywords__ = dict(aliases)  # read by the vocabulary test and the docs
        return wrapper

    return decorate


def deprecated_alias(func: Callable, old: str) -> Callable:
    """``func`` under its retired name ``old``: the same function, warning at each call that it was renamed."""

    @functools.wraps(func)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_renamed(old, func.__name__, old, what="function")
        return func(*args, **kwargs)

    alias.__name__ = alias.__qualname__ = old
    alias.__doc__ = f"Deprecated alias of :func:`{func.__module__}.{func.__name__}` (renamed in {SINCE})."
    alias.__deprecated_alias_of__ = func
    return alias
