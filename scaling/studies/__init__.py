"""Studies: declarative fit specs (TOML), the runner that turns one into results, and the report."""

from scaling.studies.runner import run_spec
from scaling.studies.spec import load_spec

__all__ = ["load_spec", "run_spec"]
