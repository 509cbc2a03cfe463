"""The package's architecture, checked: the import contracts of pyproject.toml ``[tool.importlinter]``
(layers along the data path, no cycle between sibling modules) hold, they break on an upward import
or a cycle, and no module of ``scaling/`` is over 400 lines."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

MAX_LINES = 400


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` (import-linter) on the package under ``root`` with ``root/pyproject.toml``."""
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports not found: install the test extra (pip install -e '.[test]')"
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [exe, "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_contracts_are_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout, result.stdout


def test_contracts_break_on_an_upward_import_and_on_a_cycle(tmp_path):
    shutil.copytree(REPO / "scaling", tmp_path / "scaling", symlinks=True, ignore=shutil.ignore_patterns("shipped"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    law = tmp_path / "scaling" / "models" / "law.py"
    law.write_text(law.read_text() + "\nfrom scaling.studies import spec  # noqa\n")  # models -> studies: upward
    tables = tmp_path / "scaling" / "analysis" / "tables.py"
    tables.write_text(tables.read_text() + "\nfrom scaling.analysis import comparison  # noqa\n")
    comparison = tmp_path / "scaling" / "analysis" / "comparison.py"
    comparison.write_text(comparison.read_text() + "\nfrom scaling.analysis import tables  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "0 kept, 2 broken" in result.stdout, result.stdout
    assert "scaling.models.law -> scaling.studies.spec" in result.stdout, result.stdout


def test_no_module_over_400_lines():
    long = {
        str(path.relative_to(REPO)): n
        for path in sorted((REPO / "scaling").rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (at most {MAX_LINES} lines each): {long}"
