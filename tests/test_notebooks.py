"""Execute every notebook in notebooks/ in fast mode (SCALING_NOTEBOOK_FAST=1), so they never rot.

Each notebook runs in a fresh kernel of this interpreter (the ``python3`` kernel that ipykernel
installs resolves to ``sys.executable``; checked below), with the notebooks folder as working
directory. A cell that raises, including a failed ``assert`` inside a notebook, fails the test with
the cell's traceback. The kernels share one JAX compilation cache in a temporary folder, so a sampler
compiled by one notebook is loaded, not compiled again, by the next. Outputs are not written back:
the committed notebooks stay without outputs.
"""

import os
import sys

import pytest

from .conftest import REPO

nbclient = pytest.importorskip("nbclient", reason="install the test extra: pip install -e '.[test]'")
nbformat = pytest.importorskip("nbformat", reason="install the test extra: pip install -e '.[test]'")

NOTEBOOKS = REPO / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="session")
def jax_cache(tmp_path_factory) -> str:
    return os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(tmp_path_factory.mktemp("jax_cache"))


@pytest.fixture
def run(monkeypatch, jax_cache):
    monkeypatch.setenv("SCALING_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", jax_cache)
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0.5")
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

    def execute(nb):
        resources = {"metadata": {"path": str(NOTEBOOKS)}}
        nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S, resources=resources).execute()
        return nb

    return execute


def test_notebooks_exist():
    expected = {"01_quickstart", "02_chinchilla", "03_forecast_benchmark", "04_revenue_plan"}
    assert expected <= {p.stem for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nb.cells[0].cell_type == "markdown", f"{path.name}: start with an introduction"
    assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name}: clear the outputs"
    assert "SCALING_NOTEBOOK_FAST" in code[0].source, f"{path.name}: the first code cell sets the fast mode"


def test_kernel_is_this_interpreter(run):
    nb = run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)")]))
    assert nb.cells[0].outputs[0]["text"].strip() == sys.prefix


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path, run):
    nb = run(nbformat.read(path, as_version=4))
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: no figure was displayed"
