"""Preprocessing state saved by earlier versions loads, and a fresh fit saves the same bytes.

The fixtures ``fixtures/preprocessor_*.json`` were written by the code before the column encoders
were split per input kind (``python tests/unit/data/test_saved_preprocessor.py`` writes them
again): bundles saved then must load, and a preprocessor fitted now must save the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from manyheads.data.preprocess import TablePreprocessor
from manyheads.tasks import Task

FIXTURES = Path(__file__).parent / "fixtures"
#: fixture name -> text options of the preprocessor saved in it.
TEXT_OPTIONS: dict[str, dict[str, Any]] = {
    "bag": {"min_count": 1, "n_buckets": 16},
    "sequence": {"mode": "sequence", "vocab_size": 60, "min_count": 1},
}


def frame() -> pd.DataFrame:
    """Eight rows holding every input kind, one missing cell each where the kind allows it."""
    rng = np.random.default_rng(0)
    out = pd.DataFrame(
        {
            "x": [1.0, 2.5, np.nan, 4.0, 0.5, 3.0, 2.0, 1.5],
            "c": ["red", "blue", "red", None, "green", "blue", "red", "blue"],
            "t": ["a red dress", "blue hat", None, "a hat", "red red hat", "dress", "", "a"],
            "w": [["EU", "rejects"], ["Peter"], ["a", "b", "c"], [], ["x"], ["EU"], ["y"], ["z"]],
            "img": [rng.integers(0, 255, size=(2, 3, 3)).astype(np.uint8) for _ in range(8)],
            "y": [0, 1, 1, 0, None, 1, 0, 1],
            "r": [0.5, 1.5, 2.0, None, 1.0, 0.0, 3.0, 2.5],
        },
        index=pd.RangeIndex(2, 10),
    )
    out.attrs["path"] = "saved.csv"
    return out


def tasks() -> list[Task]:
    """A classification and a regression task on the frame's label columns."""
    return [Task("y", type="binary"), Task("r", type="regression")]


def fitted(name: str) -> TablePreprocessor:
    """The preprocessor of fixture ``name``, fitted on :func:`frame`."""
    inputs = {"x": "numeric", "c": "categorical", "t": "text", "w": "tokens", "img": "image"}
    return TablePreprocessor(inputs, tasks(), text_options=TEXT_OPTIONS[name]).fit(frame())


def encoded(pre: TablePreprocessor) -> dict[str, list[Any]]:
    """Every tensor :meth:`TablePreprocessor.transform` gives for :func:`frame`, as lists."""
    table = pre.transform(frame())
    parts = {f"x.{k}": v for k, v in table.x.items()}
    parts |= {f"y.{k}": v for k, v in table.y.items()}
    parts |= {f"mask.{k}": v for k, v in table.mask.items()}
    return {k: v.tolist() for k, v in parts.items()}


def saved_text(pre: TablePreprocessor) -> str:
    """The preprocessor's state as a bundle writes it (``json.dumps(..., indent=1)``)."""
    return json.dumps(pre.to_dict(), indent=1, allow_nan=False)


def write() -> None:
    """Write the fixtures from the code checked out now."""
    FIXTURES.mkdir(exist_ok=True)
    for name in TEXT_OPTIONS:
        pre = fitted(name)
        (FIXTURES / f"preprocessor_{name}.json").write_text(saved_text(pre) + "\n")
        tensors = json.dumps(encoded(pre), indent=0)
        (FIXTURES / f"preprocessor_{name}_tensors.json").write_text(tensors + "\n")


@pytest.mark.parametrize("name", list(TEXT_OPTIONS))
def test_a_fresh_fit_saves_the_bytes_of_the_fixture(name: str) -> None:
    assert saved_text(fitted(name)) + "\n" == (FIXTURES / f"preprocessor_{name}.json").read_text()


@pytest.mark.parametrize("name", list(TEXT_OPTIONS))
def test_a_saved_preprocessor_loads_and_encodes_as_before(name: str) -> None:
    text = (FIXTURES / f"preprocessor_{name}.json").read_text()
    pre = TablePreprocessor.from_dict(json.loads(text), tasks())
    assert saved_text(pre) + "\n" == text
    want = json.loads((FIXTURES / f"preprocessor_{name}_tensors.json").read_text())
    assert encoded(pre) == want


if __name__ == "__main__":
    torch.set_num_threads(1)
    write()
