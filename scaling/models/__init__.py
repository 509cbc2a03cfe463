"""The model pieces: laws (pure JAX functions with parameter specs), priors as data,
likelihoods, and the one numpyro model built from them."""

from scaling.models.irt import ECI_ANCHORS, capability_model
from scaling.models.law import Input, Law, Param
from scaling.models.laws import LAWS, get_law, law_from_spec
from scaling.models.likelihoods import LIKELIHOODS, Likelihood, get_likelihood
from scaling.models.model import Model, model_from_spec, resolve
from scaling.models.priors import Prior

__all__ = [
    "ECI_ANCHORS",
    "LAWS",
    "LIKELIHOODS",
    "Input",
    "Law",
    "Likelihood",
    "Param",
    "Prior",
    "capability_model",
    "get_law",
    "get_likelihood",
    "law_from_spec",
    "resolve",
    "model_from_spec",
    "Model",
]
