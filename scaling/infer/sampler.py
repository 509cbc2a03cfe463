"""The sampler settings of a NUTS fit as one value: :class:`Sampler`.

Every function that fits (:func:`scaling.fit`, :func:`scaling.fit_many`, :func:`scaling.fit_survey`)
or refits (:func:`scaling.forecast`, :func:`scaling.backtest`, :func:`scaling.run_plan`, a spec's
``[sampler]`` table) takes ``sampler=``: a :class:`Sampler`, or a plain mapping with the same keys
(``{"num_warmup": 500, "num_samples": 500}``); keys left out keep their defaults. As in numpyro, the
settings of the sampler are kept apart from the model, the rows and the seed: ``seed`` (an int or a
JAX key) is its own argument everywhere.

>>> from scaling import Sampler
>>> s = Sampler.of({"num_warmup": 500, "num_samples": 500})
>>> s.num_chains, s.num_samples
(4, 500)
>>> Sampler.of(s, num_chains=2).num_chains
2
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scaling.checks import check_int
from scaling.deprecation import Into
from scaling.errors import ScalingError

#: ``batch_mode`` values: how the engine maps a batch of runs (see :mod:`scaling.infer.engine`).
BATCH_MODES = ("auto", "vmap", "map")


@dataclass(frozen=True)
class Sampler:
    """Settings of the NUTS sampler (numpyro's ``NUTS`` kernel run by :mod:`scaling.infer.engine`).

    Parameters
    ----------
    num_warmup : warm-up (adaptation) steps per chain, >= 1; discarded. Default 1000.
    num_samples : draws kept per chain, >= 1. Default 1000.
    num_chains : independent chains per dataset, >= 1 (R-hat needs several). Default 4.
    target_accept : mean acceptance probability the step size is adapted towards, in (0, 1)
        (numpyro's ``target_accept_prob``). Default 0.9: scaling-law posteriors are few, strongly
        correlated parameters, and the higher target keeps their larger steps free of divergences.
    max_tree_depth : largest NUTS tree depth (at most ``2**max_tree_depth`` leapfrog steps per draw), >= 1.
        Default 10.
    dense_mass : adapt a dense mass matrix in warm-up (default True) rather than a diagonal one; a
        dense metric halves the leapfrog steps per draw on correlated laws. ``dense_mass=False,
        target_accept=0.8`` gives numpyro's defaults.
    batch_mode : how a batch of runs (datasets x chains) is mapped: ``"vmap"`` (lock-step, the default
        on accelerators), ``"map"`` (one after another in one program, the default on CPU) or ``"auto"``.
    device : ``"auto"`` (small batches on the CPU, which finishes them sooner, large ones on the
        accelerator when JAX has one), ``"cpu"`` or ``"accelerator"``.
    progress : show a progress bar; None (default): when stderr is a terminal.

    Notes
    -----
    ``device`` and ``progress`` change where and how visibly the draws are made, not the draws; the
    other settings are stored in each fit's spec (``attrs["spec"]``, key ``sampler``).
    """

    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    target_accept: float = 0.9
    max_tree_depth: int = 10
    dense_mass: bool = True
    batch_mode: str = "auto"
    device: str = "auto"
    progress: bool | None = None

    def __post_init__(self) -> None:
        _check(dataclasses.asdict(self), "Sampler")

    @classmethod
    def fields(cls) -> tuple[str, ...]:
        """The setting names, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def of(cls, value: Sampler | Mapping[str, Any] | None = None, where: str = "Sampler", **overrides: Any) -> Sampler:
        """``value`` as a Sampler: a Sampler, a mapping with some of its keys, or None (the defaults);
        ``overrides`` not None replace fields (the shorthand keywords of :func:`scaling.fit`).
        Errors name the function ``where`` the settings were passed to."""
        if value is None:
            given: dict[str, Any] = {}
        elif isinstance(value, Sampler):
            given = dataclasses.asdict(value)
        elif isinstance(value, Mapping):
            given = dict(value)
        else:
            raise ScalingError(
                f"The 'sampler' parameter of {where} must be a scaling.Sampler or a mapping of its settings "
                f"({', '.join(cls.fields())}). Got {type(value).__name__} instead."
            )
        unknown = [k for k in given if k not in cls.fields()]
        if unknown:
            hint = " The seed is not a sampler setting: pass seed= to the function." if "seed" in unknown else ""
            raise ScalingError(
                f"{where}: unknown sampler setting(s) {unknown}. Known: {', '.join(cls.fields())}.{hint}"
            )
        given |= {k: v for k, v in overrides.items() if v is not None}
        _check({**dataclasses.asdict(cls()), **given}, where)
        return cls(**given)

    def replace(self, **changes: Any) -> Sampler:
        """A copy with ``changes``."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name."""
        return dataclasses.asdict(self)

    def settings(self) -> dict[str, Any]:
        """The settings the engine runs with and a fit's spec records (chains, device and progress apart)."""
        return {
            "num_warmup": self.num_warmup,
            "num_samples": self.num_samples,
            "max_tree_depth": self.max_tree_depth,
            "target_accept": self.target_accept,
            "dense_mass": self.dense_mass,
            "batch_mode": self.batch_mode,
        }


def _check(s: Mapping[str, Any], where: str) -> None:
    """Raise a ScalingError naming the first bad setting and ``where`` it was passed."""
    for name in ("num_warmup", "num_samples", "num_chains", "max_tree_depth"):
        check_int(name, s[name], 1, where)
    t = s["target_accept"]
    if isinstance(t, bool) or not isinstance(t, numbers.Real) or not 0.0 < float(t) < 1.0:
        raise ScalingError(f"The 'target_accept' parameter of {where} must be in (0, 1). Got {t!r} instead.")
    if not isinstance(s["dense_mass"], (bool, np.bool_)):
        raise ScalingError(f"The 'dense_mass' parameter of {where} must be True or False. Got {s['dense_mass']!r}.")
    if s["batch_mode"] not in BATCH_MODES:
        raise ScalingError(
            f"The 'batch_mode' parameter of {where} must be 'auto', 'vmap' or 'map'. Got {s['batch_mode']!r}."
        )
    if s["progress"] is not None and not isinstance(s["progress"], (bool, np.bool_)):
        raise ScalingError(f"The 'progress' parameter of {where} must be True, False or None. Got {s['progress']!r}.")
    from scaling.infer import devices

    devices.check_device(s["device"], where)


def from_fit_kwargs(fit_kwargs: Mapping[str, Any] | None, where: str) -> tuple[dict[str, Any], Any]:
    """A retired ``fit_kwargs=`` mapping split into sampler settings and its ``seed`` (None when absent).

    Any other key is refused: those functions take the model's arguments themselves."""
    rest = dict(fit_kwargs or {})
    seed = rest.pop("seed", None)
    other = [k for k in rest if k not in Sampler.fields()]
    if other:
        raise ScalingError(
            f"{where}: fit_kwargs= is deprecated (use sampler=), and {other} are not sampler settings "
            f"({', '.join(Sampler.fields())})."
        )
    return rest, seed


def fit_kwargs_alias(where: str) -> tuple[str, Any]:
    """The :func:`scaling.deprecation.renamed` entry that passes a retired ``fit_kwargs=`` mapping on as
    ``sampler=`` (and its ``seed``, if it has one, as ``seed=``)."""

    def convert(fit_kwargs: Mapping[str, Any] | None) -> Into:
        settings, seed = from_fit_kwargs(fit_kwargs, where)
        return Into({"sampler": settings, **({} if seed is None else {"seed": seed})})

    return "sampler", convert
