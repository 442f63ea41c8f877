"""``key.sub=value`` overrides of a crawl or monitor config: parsed as YAML, every problem kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from manyheads.errors import ConfigError

__all__ = ["parse_overrides", "read_with_overrides"]


def parse_overrides(
    overrides: list[str] | tuple[str, ...],
) -> tuple[list[tuple[str, Any]], list[str]]:
    """The ``(dotted key, value)`` of each valid override, and a problem for each invalid one.

    Values are read as YAML by the rules of a config file, so that a config reports its
    overrides' problems with its own, all at once.

    Example:
        >>> parse_overrides(["limits.max_pages=5", "oops", "a=[1"])[0]
        [('limits.max_pages', 5)]
        >>> parse_overrides(["oops"])[1]
        ["override 'oops' must look like key.sub=value."]
    """
    from manyheads.config._yaml import yaml_value

    pairs: list[tuple[str, Any]] = []
    problems: list[str] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(f"override {item!r} must look like key.sub=value.")
            continue
        try:
            pairs.append((key, yaml_value(value, override=item)))
        except ConfigError as exc:  # reported with the file's other problems
            problems.extend(exc.problems)
    return pairs, problems


def read_with_overrides(
    path: Path,
    overrides: list[str] | tuple[str, ...],
    *,
    what: str,
    set_dotted: Callable[[dict[str, Any], str, object], None],
) -> tuple[object, list[str]]:
    """The YAML file's data with each valid override set by ``set_dotted``, and the problems
    of the invalid overrides (the caller reports them with the file's own).

    Raises:
        ConfigError: a missing or unreadable file, or bad YAML.
    """
    from manyheads.config._yaml import read_yaml_file

    data = read_yaml_file(path, what=what)
    data = dict(data) if isinstance(data, Mapping) else data
    pairs, problems = parse_overrides(overrides)
    if isinstance(data, dict):
        for key, value in pairs:
            set_dotted(data, key, value)
    return data, problems
