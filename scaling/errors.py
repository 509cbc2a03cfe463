"""The package's own error types: a user's input that the toolkit refuses.

Every message says what was wrong, where (file, key, row, column, option) and what to do.
The CLI prints these as one line with exit code 2; any other exception is an internal error.
"""

from __future__ import annotations


class ScalingError(ValueError):
    """Invalid input to the toolkit (arguments, data, specs); the message says what to do."""


class DataError(ScalingError):
    """Invalid input data; the message names the source, row and column."""


class SpecError(DataError):
    """An invalid fit spec; the message names the file and the key."""
