"""Doctests of ``scaling/`` (``pytest`` runs them: ``--doctest-modules`` in pyproject.toml): the
examples run as written, except that :func:`scaling.enable_compilation_cache` finds
``SCALING_JAX_CACHE=off`` and so leaves JAX's settings alone for the rest of the test run."""

import pytest


@pytest.fixture(autouse=True)
def _doctests_leave_jax_settings_alone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setenv("SCALING_JAX_CACHE", "off")
