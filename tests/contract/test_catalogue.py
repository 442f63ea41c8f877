"""Every lazy registry entry resolves, and the docs copied from the classes have not drifted.

The registries of :mod:`manyheads._catalogue` name their factories as ``"module:attr"`` strings
so that ``manyheads ls`` needs no torch; a typo in a target or a renamed class would otherwise
surface only when a user picks that name.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from manyheads import _catalogue
from manyheads._registry import Registry

REGISTRIES: dict[str, Registry[Any]] = {
    "architectures": _catalogue.ARCHITECTURES,
    "encoders": _catalogue.ENCODERS,
    "methods": _catalogue.METHODS,
    "tasks": _catalogue.TASK_TYPES,
    "datasets": _catalogue.DATASETS,
}
ENTRIES = [(family, name) for family, registry in REGISTRIES.items() for name in registry]


def _load(target: str) -> object:
    module, _, attr = target.partition(":")
    obj: object = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize(("family", "name"), ENTRIES, ids=[f"{f}-{n}" for f, n in ENTRIES])
def test_every_entry_is_lazy_and_resolves_to_a_callable(family: str, name: str) -> None:
    registry = REGISTRIES[family]
    target = registry.targets()[name]  # KeyError: an eager entry, which `ls` would import
    factory = registry.get(name)
    assert callable(factory)
    assert factory is _load(target)
    doc = registry.describe()[name]
    assert doc.strip(), f"{family} '{name}' needs a one-line doc"
    assert "\n" not in doc


@pytest.mark.parametrize("name", _catalogue.TASK_TYPES.names())
def test_task_type_docs_and_metrics_match_the_class(name: str) -> None:
    task_type = _catalogue.TASK_TYPES.get(name)
    assert task_type.name == name
    assert _catalogue.TASK_TYPES.describe()[name] == task_type.summary
    assert _catalogue.TASK_METRICS[name] == task_type.metric_directions  # same metrics, same order
    assert list(_catalogue.TASK_METRICS[name]) == list(task_type.metric_directions)


def test_family_modules_share_the_catalogue_registries() -> None:
    from manyheads import METHODS
    from manyheads.architectures import ARCHITECTURES
    from manyheads.builtin_datasets import DATASETS
    from manyheads.encoders import ENCODERS
    from manyheads.tasks import TASK_TYPES

    assert ARCHITECTURES is _catalogue.ARCHITECTURES
    assert ENCODERS is _catalogue.ENCODERS
    assert METHODS is _catalogue.METHODS
    assert TASK_TYPES is _catalogue.TASK_TYPES
    assert DATASETS is _catalogue.DATASETS
    assert set(_catalogue.TASK_METRICS) == set(TASK_TYPES)
