"""Reading tables, learning the input encoding on train, and batching encoded tensors."""

from manyheads.data.io import read_table
from manyheads.data.preprocess import InputSpec, TablePreprocessor
from manyheads.data.tensors import EncodedTable

__all__ = ["EncodedTable", "InputSpec", "TablePreprocessor", "read_table"]
