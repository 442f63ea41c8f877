"""Every registered input kind passes the same battery, in both text modes (bag and sequence).

Each kind's column encoder declares example cells (``ColumnEncoder.example``); the battery fits a
:class:`~manyheads.data.TablePreprocessor` on them and checks: the tensors have a row per input
row and fit the input spec, saving the state as JSON and loading it gives the same tensors,
unseen cells are encoded within the spec, and a missing cell is encoded as an empty cell is (or,
for kinds that refuse it, is a DataError naming the line and column). A new kind is covered as
soon as it is registered in ``COLUMN_ENCODERS``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from manyheads.data import EncodedTable, InputSpec, TablePreprocessor
from manyheads.data._columns import COLUMN_ENCODERS
from manyheads.data.preprocess import INPUT_KINDS
from manyheads.errors import DataError

MODES = {"bag": {"min_count": 1, "n_buckets": 8}, "sequence": {"mode": "sequence", "min_count": 1}}
CASES = [(kind, mode) for kind in INPUT_KINDS for mode in MODES]
DOC = Path(__file__).resolve().parents[2] / "docs" / "extending.md"


def doc_blocks(section: str) -> list[str]:
    """The fenced ```py blocks of the section ``section`` of ``docs/extending.md``."""
    text = DOC.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```py\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def _frame(cells: list[object]) -> pd.DataFrame:
    series = pd.Series(cells, dtype=object, index=pd.RangeIndex(2, 2 + len(cells)))
    frame = pd.DataFrame({"c": series}).infer_objects()  # the CSV lines: first row, line 2
    frame.attrs["path"] = "cells.jsonl"
    return frame


def _fitted(kind: str, mode: str) -> TablePreprocessor:
    train = _frame(list(COLUMN_ENCODERS[kind].example.train))
    return TablePreprocessor({"c": kind}, [], text_options=MODES[mode]).fit(train)


def _encode(pre: TablePreprocessor, cells: list[object]) -> EncodedTable:
    return pre.transform(_frame(cells), labels=False)


def _check_within(spec: InputSpec, table: EncodedTable) -> None:
    """Every tensor has a row per input row, finite values and ids within the spec's sizes."""
    sizes = {f"text:{c}": n for c, n in spec.text_sizes}
    sizes |= {f"ids:{c}": s.n_ids for c, s in spec.sequences}
    shapes = {f"image:{c}": s for c, s in spec.image_shapes}
    for key, value in table.x.items():
        assert value.shape[0] == table.n_rows, key
        if value.is_floating_point():
            assert torch.isfinite(value).all(), key
    if "num" in table.x:
        assert table.x["num"].shape[1] == spec.n_numeric
    if "cat" in table.x:
        assert (table.x["cat"] >= 0).all()
        assert (table.x["cat"] < torch.tensor(spec.cardinalities)).all()
    for key, n_ids in sizes.items():
        assert int(table.x[key].min()) >= 0, key
        assert int(table.x[key].max()) < n_ids, key
    for key, shape in shapes.items():
        assert tuple(table.x[key].shape[1:]) == shape, key


def _same(a: EncodedTable, b: EncodedTable) -> None:
    assert list(a.x) == list(b.x)
    for key in a.x:
        assert torch.equal(a.x[key], b.x[key]), key


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_the_training_cells_encode_within_the_spec(kind: str, mode: str) -> None:
    pre = _fitted(kind, mode)
    _check_within(pre.spec, _encode(pre, list(COLUMN_ENCODERS[kind].example.train)))


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_the_saved_state_loads_and_encodes_the_same_tensors(kind: str, mode: str) -> None:
    pre = _fitted(kind, mode)
    loaded = TablePreprocessor.from_dict(json.loads(json.dumps(pre.to_dict())), [])
    assert loaded.spec == pre.spec
    assert json.dumps(loaded.to_dict()) == json.dumps(pre.to_dict())
    example = COLUMN_ENCODERS[kind].example
    for cells in (example.train, example.unseen):
        _same(_encode(loaded, list(cells)), _encode(pre, list(cells)))


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_unseen_cells_encode_within_the_spec(kind: str, mode: str) -> None:
    pre = _fitted(kind, mode)
    _check_within(pre.spec, _encode(pre, list(COLUMN_ENCODERS[kind].example.unseen)))


@pytest.mark.parametrize(("kind", "mode"), CASES)
def test_a_missing_cell_encodes_as_an_empty_cell_or_is_refused(kind: str, mode: str) -> None:
    pre = _fitted(kind, mode)
    first = COLUMN_ENCODERS[kind].example.train[0]
    if COLUMN_ENCODERS[kind].example.refuses_missing:
        with pytest.raises(DataError, match=r"cells\.jsonl, line 3, column 'c': "):
            _encode(pre, [first, None])
        return
    missing = _encode(pre, [first, None])
    _check_within(pre.spec, missing)
    _same(missing, _encode(pre, [first, ""]))


def test_every_registered_kind_is_an_input_kind_with_example_cells() -> None:
    assert tuple(COLUMN_ENCODERS) == INPUT_KINDS
    for kind, encoder in COLUMN_ENCODERS.items():
        assert encoder.kind == kind
        assert encoder.example.train
        assert encoder.example.unseen


@pytest.fixture
def _doc_kind() -> Iterator[None]:
    """Take the doc's runtime registration out again, so the table stays as shipped."""
    yield
    COLUMN_ENCODERS.pop("log_numeric", None)


@pytest.mark.usefixtures("_doc_kind")
def test_the_input_kind_of_the_extending_doc_passes_the_battery() -> None:
    namespace: dict[str, Any] = {"__name__": "extending_doc"}
    for block in doc_blocks("Add an input kind"):
        exec(compile(block, str(DOC), "exec"), namespace)
    for mode in MODES:
        test_the_training_cells_encode_within_the_spec("log_numeric", mode)
        test_the_saved_state_loads_and_encodes_the_same_tensors("log_numeric", mode)
        test_unseen_cells_encode_within_the_spec("log_numeric", mode)
        test_a_missing_cell_encodes_as_an_empty_cell_or_is_refused("log_numeric", mode)
    pre = _fitted("log_numeric", "bag")
    assert pre.spec.n_numeric == 1
    assert "log_numeric" in pre.to_dict()
