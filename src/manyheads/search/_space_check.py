"""The space against the config: each searched value set in the raw config
(:func:`apply_values`), and every value a key can take dry-run before any training
(:func:`check_space`)."""

from __future__ import annotations

import copy
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError
from manyheads.search._dimension import SearchSpace

__all__ = ["apply_values", "check_space"]


def apply_values(raw: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the raw config with each dotted key set to its value.

    Example:
        >>> apply_values({"train": {"lr": 0.1}}, {"train.lr": 0.01, "model.hidden": [8]})
        {'train': {'lr': 0.01}, 'model': {'hidden': [8]}}
    """
    out = copy.deepcopy(raw)
    for key, value in values.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = copy.deepcopy(value)
    return out


def check_space(space: SearchSpace, raw: dict[str, Any], *, config_source: str) -> None:
    """Refuse a space whose keys or values the config would refuse (every problem at once).

    Each value a key can take (both ends, every choice) is set in the config, with the
    values its ``when`` needs, and the config is built and dry-run as ``manyheads validate``
    does; a problem names the space file, the key and the value.
    """
    from manyheads.config.load import build_config

    problems: list[str] = []
    tasks = raw.get("tasks") if isinstance(raw.get("tasks"), dict) else {}
    for dim in space.dimensions:
        parts = dim.key.split(".")
        if parts[0] == "tasks" and len(parts) > 1 and parts[1] not in (tasks or {}):
            names = sorted(map(str, tasks or {}))
            problems.append(
                f"'{dim.key}': there is no task '{parts[1]}' in {config_source}."
                f"{did_you_mean(parts[1], names)} Tasks: {', '.join(names) or 'none'}."
            )
            continue
        given = {k: v[0] for k, v in dim.when.items()}
        seen: set[str] = set()  # an unknown key fails at every value: said once
        for value in dim.corners():
            try:
                build_config(apply_values(raw, {**given, dim.key: value}), dry_run=True)
            except ConfigError as exc:
                new = [p for p in exc.problems if p not in seen]
                seen.update(new)
                problems.extend(f"'{dim.key}' = {value!r}: {p}" for p in new)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)), source=space.source)
