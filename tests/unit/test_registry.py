from __future__ import annotations

import sys
from pathlib import Path

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


def _lazy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> str:
    """A throwaway module ``name`` on ``sys.path`` with a class ``Thing`` and a constant."""
    (tmp_path / f"{name}.py").write_text(
        'class Thing:\n    """A thing."""\n\n    def __init__(self, x: int = 0) -> None:\n'
        "        self.x = x\n\n\nNOT_CALLABLE = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return name


def test_lazy_entry_is_imported_only_on_first_get(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _lazy_module(tmp_path, monkeypatch, "mh_lazy_registry_a")
    r: Registry[object] = Registry("thing")
    r.register("eager", lambda: 1)
    r.register_lazy("lazy", f"{module}:Thing", "a thing, loaded on first use")
    assert r.names() == ["eager", "lazy"]
    assert list(r) == ["eager", "lazy"]
    assert "lazy" in r
    assert r.describe() == {"eager": "", "lazy": "a thing, loaded on first use"}
    assert r.targets() == {"lazy": f"{module}:Thing"}
    assert module not in sys.modules  # names, docs, `in` and iteration import nothing
    thing = r.create("lazy", x=5)
    assert module in sys.modules
    assert type(thing).__name__ == "Thing"
    assert vars(thing) == {"x": 5}
    assert r.get("lazy") is sys.modules[module].Thing
    assert r.describe()["lazy"] == "a thing, loaded on first use"  # not replaced by the docstring


def test_lazy_names_get_the_same_did_you_mean_errors() -> None:
    r: Registry[int] = Registry("architecture")
    r.register_lazy("mmoe", "nowhere:MMoE", "experts")
    r.register("hps", lambda: 2)
    with pytest.raises(
        InvalidParameterError,
        match=r"Unknown architecture 'mmeo'\. Valid names: mmoe, hps\. Did you mean 'mmoe'\?",
    ):
        r.get("mmeo")
    with pytest.raises(InvalidParameterError, match="'hps' is already registered"):
        r.register_lazy("hps", "nowhere:HPS", "twice")
    with pytest.raises(InvalidParameterError, match="'mmoe' is already registered"):
        r.register("mmoe", lambda: 1)


@pytest.mark.parametrize("target", ["no_colon", ":Thing", "module:", ""])
def test_lazy_target_must_name_module_and_attribute(target: str) -> None:
    r: Registry[int] = Registry("thing")
    with pytest.raises(InvalidParameterError, match=r"must look like 'package\.module:attr'"):
        r.register_lazy("a", target, "doc")
    assert "a" not in r


def test_lazy_target_that_does_not_resolve_names_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _lazy_module(tmp_path, monkeypatch, "mh_lazy_registry_b")
    r: Registry[object] = Registry("thing")
    r.register_lazy("missing", f"{module}:Nope", "doc")
    r.register_lazy("constant", f"{module}:NOT_CALLABLE", "doc")
    with pytest.raises(ImportError, match=rf"'{module}:Nope'.*no attribute 'Nope'"):
        r.get("missing")
    with pytest.raises(TypeError, match=rf"'{module}:NOT_CALLABLE', which is not callable"):
        r.get("constant")
