"""Inference: the compiled NUTS engine (``fit``, ``fit_many``) and its settings (``Sampler``), point
fits (Huber + L-BFGS, multi-start, bootstrap), device choice and survey-scale chunked runs."""

from scaling.infer.bayes import fit, fit_many
from scaling.infer.point import fit_point, hoffmann_grid
from scaling.infer.results import select_problem
from scaling.infer.sampler import Sampler
from scaling.infer.survey import fit_survey

__all__ = ["Sampler", "fit", "fit_many", "fit_point", "fit_survey", "hoffmann_grid", "select_problem"]
