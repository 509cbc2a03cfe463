"""Command-line interface: a thin layer over library calls (``scaling --help``).

Exit codes: 0 ok; 2 invalid input (the message names file, row and column); 1 a failed result
(``scaling check`` on a failing fit, failed chunks).
"""

from scaling.cli import datasets, fitting, forecasting  # noqa: F401  (registers the commands)
from scaling.cli.common import app


def main() -> None:
    """Console entry point (``scaling``)."""
    app()


__all__ = ["app", "main"]
