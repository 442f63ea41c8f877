"""Typed reading of one config section: unknown keys, and values against the schema's types.

The types come from the schema dataclasses themselves (:func:`typing.get_type_hints`), so a new
field is checked without a line here. A YAML value is a ``bool``, ``int``, ``float``, ``str``,
list, mapping or null; :func:`matches` says whether it fits a type hint.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Union

from manyheads._registry import Registry, did_you_mean

__all__ = ["known_name", "matches", "section", "typed_fields", "unknown_keys"]

_SCALARS: dict[object, typing.Callable[[object], bool]] = {
    bool: lambda v: isinstance(v, bool),
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    str: lambda v: isinstance(v, str),
    type(None): lambda v: v is None,
}


def matches(value: object, hint: object) -> bool:
    """Whether the YAML ``value`` fits the type ``hint``; a list fits any sequence type, a
    mapping any mapping type, an int a float. Element types are checked where the value is
    used (ranges, names); other types (``Any``, classes) accept every value.

    Example:
        >>> matches(3, float | None), matches(True, int), matches([8, 4], Sequence[int])
        (True, False, True)
    """
    if typing.get_origin(hint) in (Union, types.UnionType):
        return any(matches(value, arg) for arg in typing.get_args(hint))
    if hint in _SCALARS:
        return _SCALARS[hint](value)
    base = typing.get_origin(hint) or hint
    if isinstance(base, type) and issubclass(base, Mapping):
        return isinstance(value, dict)
    if isinstance(base, type) and issubclass(base, Sequence):
        return isinstance(value, list | tuple)
    return True


def unknown_keys(keys: list[str], valid: list[str], where: str, problems: list[str]) -> None:
    """Add a problem for each key not in ``valid`` (with the closest valid key)."""
    for key in keys:
        if key not in valid:
            problems.append(
                f"unknown key '{where}{key}'.{did_you_mean(str(key), valid)} "
                f"Valid keys: {', '.join(valid)}."
            )


def known_name(
    registry: Registry[Any], what: str, name: object, where: str, problems: list[str]
) -> bool:
    """Whether ``name`` is in ``registry``; if not, a problem naming ``what`` and ``where``
    with the closest name and the valid ones."""
    if name in registry:
        return True
    names = registry.names()
    problems.append(
        f"unknown {what} '{name}' in '{where}'.{did_you_mean(str(name), names)} "
        f"Valid: {', '.join(names)}."
    )
    return False


def typed_fields(
    values: dict[str, Any],
    cls: type,
    where: str,
    problems: list[str],
    *,
    own: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The entries of ``values`` that are fields of the dataclass ``cls`` and fit their types;
    a problem for each that does not. Fields in ``own`` are left out: the section's builder
    reads and checks them itself."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in own}
    out = {}
    for key, value in values.items():
        f = fields.get(key)
        if f is None:
            continue
        if not matches(value, hints[key]):
            problems.append(
                f"'{where}{key}' must be of type {f.type}; got {value!r} ({type(value).__name__})."
            )
            continue
        out[key] = value
    return out


def section(raw: dict[str, Any], key: str, problems: list[str]) -> dict[str, Any]:
    """The mapping under ``key`` (empty if absent); a problem if it is not a mapping."""
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        problems.append(f"'{key}' must be a mapping; got {value!r}.")
        return {}
    return value
