"""Run-wide settings of the test suite, and the doctests of ``scaling/`` (``pytest`` runs them:
``--doctest-modules`` in pyproject.toml).

* One JAX persistent compilation cache for the whole run (:func:`pytest_configure`).
* Doctests run as written, except that :func:`scaling.enable_compilation_cache` finds
  ``SCALING_JAX_CACHE=off`` there and so leaves JAX's settings as the run set them."""

import os
import shutil
import tempfile

import pytest

#: the folder :func:`pytest_configure` made for this run's cache (empty: the user set ``SCALING_JAX_CACHE``)
_RUN_CACHE: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    """One JAX persistent compilation cache for the whole test run, in a temporary folder.

    Workers (pytest-xdist) inherit ``SCALING_JAX_CACHE`` from the process that starts them, so a
    program compiled by one worker, a notebook's kernel or a CLI subprocess is loaded by the others
    instead of compiled again, and no test writes to the user's cache (``~/.cache/scaling/jax``).
    A ``SCALING_JAX_CACHE`` set by the user (a folder, or ``off``) is used as it is.
    """
    if "SCALING_JAX_CACHE" not in os.environ:
        _RUN_CACHE.append(tempfile.mkdtemp(prefix="scaling-tests-jax-"))
        os.environ["SCALING_JAX_CACHE"] = _RUN_CACHE[0]
    from scaling.runtime import enable_compilation_cache

    enable_compilation_cache()


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _RUN_CACHE:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _doctests_leave_jax_settings_alone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setenv("SCALING_JAX_CACHE", "off")
