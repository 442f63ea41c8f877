"""The cell-by-cell lookup of small ``object`` and string frames (a served request) gives
exactly the indices of the vectorised path that large frames take."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manyheads.data._columns import _categorical
from manyheads.data._columns._categorical import CategoricalColumn

CELLS = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.sampled_from(["a", " a ", "b", "", "  ", "1", "1.0", "True", "nan", "zzz"]),
    st.text(max_size=4),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([1.0, 2.5, -0.0, np.float32(1.0), np.float32(0.1), np.int64(2)]),
    st.booleans(),
    st.just(pd.NA),
)


def _fitted() -> CategoricalColumn:
    col = CategoricalColumn("c", {})
    train = pd.Series(["a", "b", 1, 2.0, True, "0.1", "inf", "-inf", "nan"], dtype=object)
    col.fit(pd.DataFrame({"c": train}), "<train>")
    return col


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, min_size=1, max_size=12))
def test_small_object_frames_index_as_the_vectorised_path(cells: list[object]) -> None:
    col = _fitted()
    frame = pd.DataFrame({"c": pd.Series(cells, dtype=object)})
    fast = col.transform(frame, "<rows>")["cat"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_categorical, "SMALL_FRAME", 0)
        slow = col.transform(frame, "<rows>")["cat"]
    assert fast.tolist() == slow.tolist()


def test_the_lookup_follows_a_new_state() -> None:
    col = _fitted()
    row = pd.DataFrame({"c": pd.Series(["b"], dtype=object)})
    before = col.transform(row, "<rows>")["cat"].item()
    col.state_ = ["b"]  # as a loaded preprocessor sets it
    assert (before, col.transform(row, "<rows>")["cat"].item()) == (before, 1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["a", " b", "  "])),
        min_size=1,
        max_size=12,
    )
)
def test_small_string_frames_index_as_the_vectorised_path(cells: list[str | None]) -> None:
    col = _fitted()
    frame = pd.DataFrame({"c": pd.Series(cells, dtype="str")})  # pandas' default for text
    fast = col.transform(frame, "<rows>")["cat"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_categorical, "SMALL_FRAME", 0)
        slow = col.transform(frame, "<rows>")["cat"]
    assert fast.tolist() == slow.tolist()
