from __future__ import annotations

import pytest

from manyheads._registry import Registry, did_you_mean
from manyheads.errors import InvalidParameterError


def test_unknown_name_lists_valid_names_and_closest_match() -> None:
    r: Registry[int] = Registry("architecture")
    r.register("mmoe", lambda: 1)
    r.register("hps", lambda: 2)
    with pytest.raises(
        InvalidParameterError,
        match=r"Unknown architecture 'mmeo'\. Valid names: "
        r"mmoe, hps\. Did you mean 'mmoe'\?",
    ):
        r.create("mmeo")


def test_register_twice_is_refused() -> None:
    r: Registry[int] = Registry("thing")
    r.register("a", lambda: 1)
    with pytest.raises(InvalidParameterError, match="already registered"):
        r.register("a", lambda: 2)


def test_did_you_mean_is_empty_when_nothing_is_close() -> None:
    assert did_you_mean("zzzz", ["hps", "mmoe"]) == ""
