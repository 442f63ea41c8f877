"""The dataset-build configuration (YAML -> frozen dataclasses, every problem reported at once).

Keys are documented in ``docs/crawl.md`` ("Build a dataset").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError

__all__ = ["BuildConfig", "LabelSpec", "load_build_config", "parse_build_config"]

_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class LabelSpec:
    """A label column: ``source`` copied, or mapped through ``rules`` (label -> condition)."""

    name: str
    source: str
    rules: tuple[tuple[str, Any], ...] = ()
    default: str | None = None


@dataclass(frozen=True)
class BuildConfig:
    """How to turn crawled records into a training table."""

    columns: tuple[tuple[str, str], ...] = ()
    text: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    min_chars: tuple[tuple[str, int], ...] = ()
    max_chars: tuple[tuple[str, int], ...] = ()
    language_column: str | None = None
    languages: tuple[str, ...] = ()
    keep_undetermined: bool = True
    dedupe_column: str | None = None
    exact: bool = True
    near_threshold: float | None = 0.9
    labels: tuple[LabelSpec, ...] = ()
    valid: float = 0.1
    test: float = 0.1
    split_column: str = "split"
    split_key: str = "url"
    salt: str = "manyheads"


_TOP = ("columns", "text", "filters", "dedupe", "labels", "split")
_FILTERS = ("required", "min_chars", "max_chars", "language")
_DEDUPE = ("column", "exact", "near_threshold")
_SPLIT = ("valid", "test", "column", "key", "salt")
_LABEL = ("from", "map", "default")


def _unknown(where: str, key: object, valid: tuple[str, ...]) -> str:
    return (
        f"{where}: unknown key '{key}'. Valid keys: {', '.join(valid)}."
        f"{did_you_mean(str(key), list(valid))}"
    )


def _mapping(
    where: str, raw: object, valid: tuple[str, ...], problems: list[str]
) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping. Got {raw!r}.")
        return {}
    for key in raw:
        if key not in valid:
            problems.append(_unknown(where, key, valid))
    return {str(k): v for k, v in raw.items() if k in valid}


def _str_list(where: str, raw: object, problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        problems.append(f"{where} must be a list of column names. Got {raw!r}.")
        return ()
    return tuple(raw)


def _chars(where: str, raw: object, problems: list[str]) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return ()
    ok = isinstance(raw, Mapping) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in raw.values()
    )
    if not ok:
        problems.append(f"{where} must map column -> int >= 0, e.g. {{text: 20}}. Got {raw!r}.")
        return ()
    assert isinstance(raw, Mapping)
    return tuple((str(k), int(v)) for k, v in raw.items())


def parse_condition(text: str) -> tuple[str, Any]:
    """``">= 4"`` -> ``(">=", 4.0)``; anything else is an equality test.

    Example:
        >>> parse_condition(">= 4"), parse_condition("Tops")
        (('>=', 4.0), ('==', 'Tops'))
    """
    match = _CONDITION.match(text)
    if match is None:
        return "==", text
    op, value = match.groups()
    try:
        return op, float(value)
    except ValueError:
        return op, value


def _label(name: str, raw: object, problems: list[str]) -> LabelSpec | None:
    where = f"'labels.{name}'"
    spec = _mapping(where, raw, _LABEL, problems)
    if not isinstance(raw, Mapping):
        return None
    source = spec.get("from", name)
    if not isinstance(source, str) or not source:
        problems.append(f"{where}.from must be a column name. Got {source!r}.")
        return None
    rules: list[tuple[str, Any]] = []
    mapping = spec.get("map") or {}
    if not isinstance(mapping, Mapping):
        problems.append(f"{where}.map must map label -> condition. Got {mapping!r}.")
        mapping = {}
    for label, condition in mapping.items():
        conditions = condition if isinstance(condition, list) else [condition]
        for cond in conditions:
            rules.append(
                (str(label), parse_condition(cond) if isinstance(cond, str) else ("==", cond))
            )
    default = spec.get("default")
    return LabelSpec(name, source, tuple(rules), None if default is None else str(default))


def _fraction(where: str, value: object, problems: list[str]) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value < 1:
        problems.append(f"{where} must be a fraction in [0, 1). Got {value!r}.")
        return 0.0
    return float(value)


def parse_build_config(raw: object, *, source: str | None = None) -> BuildConfig:
    """Validate a parsed YAML mapping and build a :class:`BuildConfig`.

    Raises:
        ConfigError: listing every problem found.

    Example:
        >>> cfg = parse_build_config({"labels": {"sentiment": {"from": "rating",
        ...     "map": {"positive": ">= 4", "negative": "<= 2"}}}})
        >>> cfg.labels[0].rules
        (('positive', ('>=', 4.0)), ('negative', ('<=', 2.0)))
    """
    problems: list[str] = []
    top = _mapping("the dataset config", raw if raw is not None else {}, _TOP, problems)
    columns_raw = top.get("columns") or {}
    if not isinstance(columns_raw, Mapping) or not all(
        isinstance(v, str) for v in columns_raw.values()
    ):
        problems.append(f"'columns' must map output column -> source field. Got {columns_raw!r}.")
        columns_raw = {}
    filters = _mapping("'filters'", top.get("filters"), _FILTERS, problems)
    language = _mapping(
        "'filters.language'", filters.get("language"), ("column", "keep", "undetermined"), problems
    )
    if language.get("undetermined", "keep") not in ("keep", "drop"):
        problems.append(
            "'filters.language.undetermined' must be keep or drop. "
            f"Got {language['undetermined']!r}."
        )
    dedupe = _mapping("'dedupe'", top.get("dedupe"), _DEDUPE, problems)
    near = dedupe.get("near_threshold", 0.9)
    if near is not None and not (isinstance(near, int | float) and 0 < near <= 1):
        problems.append(f"'dedupe.near_threshold' must be in (0, 1] or null. Got {near!r}.")
    split = _mapping("'split'", top.get("split"), _SPLIT, problems)
    labels_raw = top.get("labels") or {}
    if not isinstance(labels_raw, Mapping):
        problems.append(f"'labels' must map label name -> spec. Got {labels_raw!r}.")
        labels_raw = {}
    labels = [_label(str(n), spec, problems) for n, spec in labels_raw.items()]
    valid = _fraction("'split.valid'", split.get("valid", 0.1), problems)
    test = _fraction("'split.test'", split.get("test", 0.1), problems)
    if valid + test >= 1:
        problems.append(f"'split.valid' + 'split.test' must be < 1. Got {valid + test}.")
    config = BuildConfig(
        columns=tuple((str(k), str(v)) for k, v in columns_raw.items()),
        text=_str_list("'text'", top.get("text"), problems),
        required=_str_list("'filters.required'", filters.get("required"), problems),
        min_chars=_chars("'filters.min_chars'", filters.get("min_chars"), problems),
        max_chars=_chars("'filters.max_chars'", filters.get("max_chars"), problems),
        language_column=language.get("column") or ("text" if language else None),
        languages=_str_list("'filters.language.keep'", language.get("keep"), problems),
        keep_undetermined=language.get("undetermined", "keep") == "keep",
        dedupe_column=dedupe.get("column"),
        exact=bool(dedupe.get("exact", True)),
        near_threshold=float(near) if isinstance(near, int | float) else None,
        labels=tuple(lab for lab in labels if lab is not None),
        valid=valid,
        test=test,
        split_column=str(split.get("column", "split")),
        split_key=str(split.get("key", "url")),
        salt=str(split.get("salt", "manyheads")),
    )
    if problems:
        raise ConfigError(problems, source=source)
    return config


def load_build_config(path: str | Path | None) -> BuildConfig:
    """Read and validate a dataset YAML file (``None``: all defaults)."""
    from manyheads.config._yaml import read_yaml_file

    if path is None:
        return parse_build_config({})
    data = read_yaml_file(path, what="dataset config")
    return parse_build_config(data, source=str(path))
