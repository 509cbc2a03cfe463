"""Priors as plain, serialisable data.

A :class:`Prior` names a :mod:`numpyro.distributions` class and its keyword
arguments, e.g. ``Prior("Normal", loc=0.0, scale=1.0)``. It round-trips through
JSON/TOML (``Prior.from_dict(p.to_dict()) == p``) so fits can store the exact
priors they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scaling.errors import ScalingError

# Distributions a prior may name, with the keyword arguments each accepts.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "Normal": ("loc", "scale"),
    "HalfNormal": ("scale",),
    "LogNormal": ("loc", "scale"),
    "StudentT": ("df", "loc", "scale"),
    "Uniform": ("low", "high"),
    "Beta": ("concentration1", "concentration0"),
    "Gamma": ("concentration", "rate"),
    "Exponential": ("rate",),
    "HalfCauchy": ("scale",),
    "TruncatedNormal": ("loc", "scale", "low", "high"),
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution as data: ``Prior("HalfNormal", scale=0.5)``.

    Parameters
    ----------
    dist
        Name of a distribution in :data:`DISTRIBUTIONS` (numpyro class name).
    **params
        Keyword arguments of that distribution (floats).
    """

    dist: str
    params: tuple[tuple[str, float], ...]

    def __init__(self, dist: str, **params: float) -> None:
        if dist not in DISTRIBUTIONS:
            raise ScalingError(
                f"Unknown prior distribution {dist!r}. Choose one of: {', '.join(sorted(DISTRIBUTIONS))}."
            )
        allowed = DISTRIBUTIONS[dist]
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise ScalingError(f"Prior {dist!r} got unknown argument(s) {unknown}; it takes {list(allowed)}.")
        clean = []
        for key in allowed:
            if key not in params:
                continue
            value = params[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScalingError(f"The {key!r} argument of prior {dist!r} must be a number. Got {value!r} instead.")
            clean.append((key, float(value)))
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "params", tuple(clean))

    def kwargs(self) -> dict[str, float]:
        """The distribution's keyword arguments as a dict."""
        return dict(self.params)

    def to_numpyro(self) -> Any:
        """Build the :mod:`numpyro.distributions` object."""
        import numpyro.distributions as dist

        return getattr(dist, self.dist)(**self.kwargs())

    def to_dict(self) -> dict[str, Any]:
        """``{"dist": name, **params}``: JSON/TOML-serialisable."""
        return {"dist": self.dist, **self.kwargs()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`; validates names and arguments."""
        if not isinstance(d, dict) or "dist" not in d:
            raise ScalingError(
                f"A prior must be a table with a 'dist' key, e.g. "
                f"{{dist = 'Normal', loc = 0, scale = 1}}. Got {d!r} instead."
            )
        rest = {k: v for k, v in d.items() if k != "dist"}
        return cls(d["dist"], **rest)

    def __str__(self) -> str:
        args = ", ".join(f"{k}={v:g}" for k, v in self.params)
        return f"{self.dist}({args})"


def as_prior(p: Prior | dict[str, Any]) -> Prior:
    """Accept a :class:`Prior` or its dict form (``{"dist": ..., **params}``)."""
    return p if isinstance(p, Prior) else Prior.from_dict(p)
