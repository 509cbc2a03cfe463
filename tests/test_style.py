"""The code stays ruff-clean (lint and format), as the project requires."""

import shutil
import subprocess
import sys

from .conftest import REPO


def _ruff() -> list[str]:
    exe = shutil.which("ruff", path=str(REPO / ".venv" / "bin")) or shutil.which("ruff")
    return [exe] if exe else [sys.executable, "-m", "ruff"]


def test_ruff_lint_and_format_clean():
    for args in (["check", "scaling", "tests"], ["format", "--check", "scaling", "tests"]):
        result = subprocess.run([*_ruff(), *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
