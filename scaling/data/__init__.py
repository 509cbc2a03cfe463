"""Data: reading and validating tables (messages name file, row and column), the registry of
public datasets, and ``prepare``, which joins a table to a model."""

from scaling.data import registry
from scaling.data.hub import load_hub, long_table
from scaling.data.preparation import Prepared, as_frame, prepare
from scaling.data.registry import data_dir
from scaling.data.tables import read_table, to_decimal_year
from scaling.errors import DataError

__all__ = [
    "DataError",
    "Prepared",
    "as_frame",
    "data_dir",
    "load_hub",
    "long_table",
    "prepare",
    "read_table",
    "registry",
    "to_decimal_year",
]
