"""The documentation site builds with warnings as errors, from a clean checkout, into a temporary folder.

``mkdocs build --strict`` fails on any broken page link, missing anchor, cross-reference to an API
object that the reference does not render, missing included file (README snippets, bench results,
the changelog) or docstring that mkdocstrings cannot parse; the checks below then read the built
site for what a reader needs: every public function in the generated table, one reference page per
subpackage, the notebooks rendered (they are stored without outputs: nothing is executed). Every
docstring example in the package runs as a doctest.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import os
import pkgutil
import re
import subprocess
import sys
import time

import pytest

import scaling

from .conftest import REPO

for _module, _package in [
    ("mkdocs", "mkdocs"),
    ("material", "mkdocs-material"),
    ("mkdocstrings_handlers.python", "mkdocstrings[python]"),
    ("mkdocs_jupyter", "mkdocs-jupyter"),
]:
    pytest.importorskip(_module, reason=f"the docs build needs {_package}: pip install -e '.[docs]' (or '.[test]')")

SUBPACKAGES = ("models", "data", "infer", "analysis", "planning", "plots", "studies")
BUILD_LIMIT_S = 120  # about 8 s of CPU on 2 cores; generous for a loaded CI machine


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the site once; return its folder and the build's wall time."""
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's notice about MkDocs 2.0, not a build warning
    litter = [REPO / "site", REPO / ".cache" / "mkdocs-jupyter"]  # default output and notebook cache
    before = [p.exists() for p in litter]
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"), "-d", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stderr[-6000:]}"
    assert [p.exists() for p in litter] == before, "the docs build left files in the repository"
    return out, seconds, proc.stderr


def test_site_builds_strict_in_time(site):
    out, seconds, log = site
    assert (out / "index.html").is_file()
    assert "WARNING" not in log, log
    assert seconds < BUILD_LIMIT_S, f"docs build took {seconds:.0f} s"


def test_every_subpackage_has_a_reference_page(site):
    out, _, _ = site
    for sub in SUBPACKAGES:
        page = out / "api" / sub / "index.html"
        assert page.is_file(), f"no API page for scaling.{sub}"
        ids = set(re.findall(r'id="(scaling\.[\w.]+)"', page.read_text()))
        module = getattr(scaling, sub)
        missing = [n for n in module.__all__ if f"scaling.{sub}.{n}" not in ids]
        assert not missing, f"scaling.{sub}: {missing} are exported but not in its reference page"


def test_functions_table_lists_every_public_function(site):
    out, _, _ = site
    html = (out / "api" / "functions" / "index.html").read_text()
    text = re.sub(r"<[^>]+>", "", html)
    functions = [n for n in scaling.__all__ if inspect.isfunction(getattr(scaling, n))]
    assert len(functions) > 30
    missing = [n for n in functions if f"scaling.{n}" not in text]
    assert not missing, f"public functions missing from the table: {missing}"
    # arguments are listed as declared, e.g. fit's keyword-only sampler settings (docs/guide/vocabulary.md)
    assert "sampler=None" in text and "seed=0" in text and "num_warmup=None" in text


def test_notebooks_rendered_without_executing(site):
    out, _, _ = site
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        page = out / "notebooks" / path.stem / "index.html"
        assert page.is_file(), f"{path.name} is not rendered"
        # committed without outputs, so the rendered page has the code cells and no output area
        html = page.read_text()
        assert "SCALING_NOTEBOOK_FAST" in html
        assert not re.search(r'class="[^"]*jp-OutputArea-output', html), f"{path.name} was executed or has outputs"


def _docstring_examples() -> list[doctest.DocTest]:
    """Every docstring example in the package (found by walking its modules, so new ones run too)."""
    finder = doctest.DocTestFinder()
    found = []
    for info in pkgutil.walk_packages(scaling.__path__, "scaling."):
        if info.name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(info.name)
        found += [t for t in finder.find(module, module=module) if t.examples]
    return sorted(found, key=lambda t: t.name)


EXAMPLES = _docstring_examples()


def test_docstring_examples_exist():
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_example_runs(test, monkeypatch):
    """Each docstring example runs as a doctest; SCALING_JAX_CACHE=off keeps process-wide JAX settings as they are."""
    monkeypatch.setenv("SCALING_JAX_CACHE", "off")
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    result = runner.run(test, out=out.append)
    assert result.failed == 0, "".join(out)
