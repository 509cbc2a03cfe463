"""The registry of laws by name (:data:`LAWS`), :func:`get_law` (a law by name with its options and
prior overrides) and :func:`law_from_spec` (the law a saved spec describes)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from scaling.errors import ScalingError
from scaling.models.compute_laws import (
    broken_power_law,
    chinchilla,
    logistic,
    power_law,
    saturating_power_law,
    with_effective_compute,
)
from scaling.models.law import Law
from scaling.models.priors import Prior
from scaling.models.trend_laws import broken_exponential_trend, exponential_trend, logistic_trend, quadratic_trend

LAWS: dict[str, Callable[..., Law]] = {
    "power_law": power_law,
    "saturating_power_law": saturating_power_law,
    "chinchilla": chinchilla,
    "broken_power_law": broken_power_law,
    "logistic": logistic,
    "exponential_trend": exponential_trend,
    "quadratic_trend": quadratic_trend,
    "logistic_trend": logistic_trend,
    "broken_exponential_trend": broken_exponential_trend,
}


def get_law(law: str | Law, priors: Mapping[str, Prior | dict] | None = None, **law_options: Any) -> Law:
    """Look up a law by name (with its factory options, ``law_options`` as keywords) and apply prior overrides.

    The option ``effective_compute=True`` (any compute law) adds a date input and the rate ``g`` of
    algorithmic progress (:func:`~scaling.models.compute_laws.with_effective_compute`).

    >>> get_law("logistic", floor=0.25).param_names
    ('ceiling', 'slope', 'midpoint')
    """
    if isinstance(law, Law):
        if law_options:
            raise ScalingError("Law options can only be given with a law name, not a Law object.")
        return law.with_priors(priors)
    if law not in LAWS:
        raise ScalingError(f"Unknown law {law!r}. Choose one of: {', '.join(LAWS)}.")
    factory = LAWS[law]
    options = dict(law_options)
    effective = options.pop("effective_compute", False)
    if not isinstance(effective, bool):
        raise ScalingError(f"The 'effective_compute' option of law {law!r} must be true or false. Got {effective!r}.")
    try:  # options spelled out with their defaults, so that equal choices give the same (cached) law
        bound = inspect.signature(factory).bind(**options)
    except TypeError as err:
        raise ScalingError(f"Invalid options {options} for law {law!r}: {err}") from None
    for name, value in options.items():  # a number option given text (CLI --law-option floor=abc, a TOML string)
        note = str(inspect.signature(factory).parameters[name].annotation)
        if "float" in note and value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ScalingError(f"The {name!r} option of law {law!r} must be a number. Got {value!r} instead.")
    bound.apply_defaults()
    base = factory(**bound.arguments)
    # effective compute (a date input shifting compute, see with_effective_compute) applies to any compute law
    return (with_effective_compute(base) if effective else base).with_priors(priors)


def law_from_spec(spec: Mapping[str, Any]) -> Law:
    """Rebuild a law from :meth:`Law.spec` output (e.g. a saved fit's attrs)."""
    priors = {k: Prior.from_dict(v) for k, v in spec.get("priors", {}).items()}
    return get_law(spec["name"], priors=priors, **spec.get("options", {}))
