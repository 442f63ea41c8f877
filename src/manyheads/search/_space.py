"""The search space: a YAML file mapping config keys to distributions (``docs/search.md``).

One entry per searched key, in the file's order::

    train.lr: {float: [1.0e-4, 1.0e-2], log: true}
    train.epochs: {int: [2, 20]}
    model.architecture: {categorical: [hps, mmoe, ple]}
    model.hidden: {categorical: [[64], [128, 64]]}
    train.method_options.c: {float: [0.1, 0.9], when: {train.method: cagrad}}

``float`` and ``int`` take ``[low, high]`` (both included), ``log: true`` (low > 0) or a
``step``; ``categorical`` takes a list of YAML values (lists and mappings too: Optuna stores
their JSON text). ``when`` samples the key only when earlier keys of the space took one of the
given values. Every key and every value is checked against the config before any training
(:func:`check_space`), with the config's own messages (unknown keys with "did you mean").
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError
from manyheads.search._dimension import Dimension, SearchSpace, choice_label
from manyheads.search._space_check import apply_values, check_space

__all__ = ["Dimension", "SearchSpace", "apply_values", "check_space", "load_space", "parse_space"]

KINDS = ("float", "int", "categorical")
OPTIONS = (*KINDS, "log", "step", "when")


def load_space(path: str | Path) -> SearchSpace:
    """Read and check the form of a space file (its keys are checked by :func:`check_space`)."""
    from manyheads.config._yaml import read_yaml_file

    raw = read_yaml_file(path, what="search space")
    return parse_space(raw, source=str(path))


def parse_space(raw: object, *, source: str = "<space>") -> SearchSpace:
    """Build a :class:`SearchSpace` from a mapping; one ConfigError lists every problem.

    Example:
        >>> space = parse_space({"train.lr": {"float": [1e-4, 1e-2], "log": True}})
        >>> space.dimensions[0].kind, space.dimensions[0].log
        ('float', True)
        >>> parse_space({"train.lr": {"flaot": [1, 2]}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.ConfigError: ...unknown option 'flaot' of 'train.lr'. Did you mean...
    """
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            [
                "a search space must be a mapping of config keys to distributions, e.g. "
                "train.lr: {float: [1.0e-4, 1.0e-2], log: true}"
            ],
            source=source,
        )
    problems: list[str] = []
    dims = []
    for key, spec in raw.items():
        dim = _dimension(str(key), spec, problems)
        if dim is not None:
            dims.append(dim)
    _check_conditions(dims, problems)
    if problems:
        raise ConfigError(problems, source=source)
    return SearchSpace(tuple(dims), source)


def _dimension(key: str, spec: object, problems: list[str]) -> Dimension | None:
    if not isinstance(spec, dict):
        problems.append(
            f"'{key}' must map to a distribution such as {{float: [0.1, 0.5]}}, "
            f"{{int: [2, 20]}} or {{categorical: [a, b]}}; got {spec!r}."
        )
        return None
    bad = [o for o in spec if o not in OPTIONS]
    for option in bad:
        problems.append(
            f"unknown option '{option}' of '{key}'.{did_you_mean(str(option), list(OPTIONS))} "
            f"Valid options: {', '.join(OPTIONS)}."
        )
    kinds = [k for k in KINDS if k in spec]
    if len(kinds) != 1:
        if not bad:
            problems.append(f"'{key}' needs exactly one of {', '.join(KINDS)}; got {kinds}.")
        return None
    kind = kinds[0]
    when = _when(key, spec.get("when"), problems)
    if kind == "categorical":
        return _categorical(key, spec, when, problems)
    return _numeric(key, kind, spec, when, problems)


def _categorical(
    key: str, spec: dict[str, Any], when: dict[str, tuple[Any, ...]], problems: list[str]
) -> Dimension | None:
    choices = spec["categorical"]
    if not isinstance(choices, list) or not choices:
        problems.append(f"'{key}.categorical' must be a non-empty list of values; got {choices!r}.")
        return None
    labels = [json.dumps(choice_label(c)) for c in choices]
    if len(set(labels)) != len(labels):
        problems.append(f"'{key}.categorical' lists a value twice: {choices!r}.")
        return None
    extra = [o for o in ("log", "step") if o in spec]
    if extra:
        problems.append(f"'{key}': {', '.join(extra)} apply to float and int only.")
    return Dimension(key, "categorical", choices=tuple(choices), when=when)


def _numeric(
    key: str,
    kind: str,
    spec: dict[str, Any],
    when: dict[str, tuple[Any, ...]],
    problems: list[str],
) -> Dimension | None:
    bounds = spec[kind]
    number = (lambda v: isinstance(v, int) and not isinstance(v, bool)) if kind == "int" else _real
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(number(b) for b in bounds)):
        problems.append(f"'{key}.{kind}' must be [low, high] of two {kind}s; got {bounds!r}.")
        return None
    low, high = float(bounds[0]), float(bounds[1])
    log, step = spec.get("log", False), spec.get("step")
    if low >= high:
        problems.append(f"'{key}.{kind}': low must be below high; got [{bounds[0]}, {bounds[1]}].")
    if not isinstance(log, bool):
        problems.append(f"'{key}.log' must be true or false; got {log!r}.")
    elif log and low <= 0:
        problems.append(f"'{key}': log: true needs low > 0; got {bounds[0]}.")
    if step is not None and (not number(step) or step <= 0):
        problems.append(f"'{key}.step' must be a {kind} > 0; got {step!r}.")
    if step is not None and log is True:
        problems.append(f"'{key}': log and step exclude each other (Optuna); pass one of them.")
    return Dimension(
        key, kind, low, high, log is True, None if step is None else float(step), (), when
    )


def _real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _when(key: str, when: object, problems: list[str]) -> dict[str, tuple[Any, ...]]:
    if when is None:
        return {}
    if not isinstance(when, dict) or not when:
        problems.append(
            f"'{key}.when' must map earlier keys to values, e.g. {{train.method: cagrad}}."
        )
        return {}
    return {str(k): tuple(v) if isinstance(v, list) else (v,) for k, v in when.items()}


def _check_conditions(dims: list[Dimension], problems: list[str]) -> None:
    """Each ``when`` names an earlier key of the space, and values that key can take."""
    seen: dict[str, Dimension] = {}
    for dim in dims:
        for other, allowed in dim.when.items():
            before = seen.get(other)
            if before is None:
                problems.append(
                    f"'{dim.key}.when' names '{other}', which is not an earlier key of the space."
                    f"{did_you_mean(other, list(seen))}"
                )
            elif before.kind == "categorical":
                missing = [a for a in allowed if a not in before.choices]
                if missing:
                    problems.append(
                        f"'{dim.key}.when': {missing} is not among the choices of '{other}' "
                        f"({list(before.choices)})."
                    )
        seen[dim.key] = dim
