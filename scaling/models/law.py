"""Scaling laws: pure JAX functional forms plus parameter specs.

Every law is written for **one problem and one parameter draw**: ``fn(u, theta)``
takes a dict of 1-D input arrays ``u`` and a dict of scalar parameters ``theta``
and returns one prediction per point. Batching over draws or problems is added
by ``jax.vmap``.

Geometry. Laws see *normalised* inputs and outputs so that one set of default
priors works for FLOP counts of 1e18 and 1e26 alike:

* inputs with ``transform="log10"`` enter as ``u = log10(x) - c`` (decades from
  the data's centre ``c``, the mean of ``log10(x)``); ``transform="year"``
  enters as ``u = year - c`` (years, decimal);
* positive outputs are modelled relative to ``y_scale`` (the geometric mean of
  ``y``), and amplitudes are log-scale: ``fn`` returns ``log(mu / y_scale)``
  (``log_output=True``). Bounded laws (scores in [0, 1]) return ``mu`` itself.

The parameters in the papers' conventions are recovered by ``law.physical``
(stored as deterministic sites, so they appear in every posterior) and mapped
back by ``law.from_physical``. Each law's docstring gives the mapping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jax
import jax.numpy as jnp

from scaling.errors import ScalingError
from scaling.models.priors import Prior, as_prior

LN10 = math.log(10.0)


LN2 = math.log(2.0)


TRANSFORMS = ("log10", "year", "linear")


@dataclass(frozen=True)
class Input:
    """One input of a law: internal ``name``, ``transform`` and a unit ``doc``."""

    name: str
    transform: str
    doc: str = ""


@dataclass(frozen=True)
class Param:
    """A sampled parameter: ``name``, default ``prior`` (data) and ``doc`` with units."""

    name: str
    prior: Prior
    doc: str = ""


@dataclass(frozen=True)
class Law:
    """A scaling law: a pure function plus everything needed to fit and report it.

    Attributes
    ----------
    name : registry key.
    formula : the law in the papers' notation.
    inputs : the law's inputs (order = order of data columns given by the user).
    params : sampled parameters with default priors.
    fn : ``fn(u, theta) -> array``; ``log(mu / y_scale)`` if ``log_output`` else ``mu``.
    log_output : whether ``fn`` returns a log prediction (positive laws).
    bounded : whether predictions lie in [0, 1] (scores).
    physical : ``physical(theta, center, y_scale) -> dict`` of the papers' parameters.
    from_physical : inverse of ``physical`` for the parameters it changes.
    default_likelihood : likelihood used when none is given.
    options : the factory options that built this law (for serialisation).
    """

    name: str
    formula: str
    inputs: tuple[Input, ...]
    params: tuple[Param, ...]
    fn: Callable[[Mapping[str, jax.Array], Mapping[str, jax.Array]], jax.Array]
    log_output: bool
    bounded: bool
    physical: Callable[..., dict[str, jax.Array]]
    from_physical: Callable[..., dict[str, jax.Array]]
    default_likelihood: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def physical_names(self) -> tuple[str, ...]:
        """Names of the papers' parameters that :attr:`physical` adds to every posterior."""
        theta = {n: 0.5 for n in self.param_names}
        return tuple(self.physical(theta, {i.name: 0.0 for i in self.inputs}, 1.0))

    def with_priors(self, priors: Mapping[str, Prior | dict] | None) -> Law:
        """A copy with some default priors replaced (validated by name)."""
        if not priors:
            return self
        return replace(self, params=override_priors(self.params, priors, f"law {self.name!r}"))

    def mean(self, u: Mapping[str, jax.Array], theta: Mapping[str, jax.Array], y_scale=1.0):
        """Predicted mean in the data's units: ``y_scale * exp(fn)`` or ``fn``."""
        out = self.fn(u, theta)
        return y_scale * jnp.exp(out) if self.log_output else out

    def spec(self) -> dict[str, Any]:
        """Serialisable description: name, options and priors."""
        return {
            "name": self.name,
            "options": dict(self.options),
            "priors": {p.name: p.prior.to_dict() for p in self.params},
        }


def override_priors(params: tuple[Param, ...], priors: Mapping[str, Prior | dict], owner: str) -> tuple[Param, ...]:
    """``params`` with the priors named in ``priors`` replaced; unknown names raise."""
    names = [p.name for p in params]
    unknown = sorted(set(priors) - set(names))
    if unknown:
        raise ScalingError(
            f"Prior override(s) {unknown} do not name parameters of {owner}; its parameters are {names}."
        )
    return tuple(replace(p, prior=as_prior(priors[p.name])) if p.name in priors else p for p in params)


def _t() -> Input:
    return Input("t", "year", "date (ISO date or decimal year); enters as years from c")


def _x(doc: str = "x in its natural units (e.g. training FLOP); enters as log10(x) - c") -> Input:
    return Input("x", "log10", doc)
