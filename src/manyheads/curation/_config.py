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
from manyheads._validation import (
    NON_NEGATIVE_INT,
    RATE,
    STRINGS,
    Constraints,
    InstanceOf,
    Interval,
    StrOptions,
    Text,
    option_message,
    valid_values,
)
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

#: How messages name this config.
_OWNER = "the dataset config"
_CHARS = "a mapping of column -> int >= 0, e.g. {text: 20}"
_RULES: Constraints = {
    "columns": [InstanceOf(dict, "a mapping of output column -> source field"), None],
    "filters.language.undetermined": [StrOptions(("keep", "drop"))],
    "dedupe.near_threshold": [Interval(float, 0, 1, closed="right"), None],
    "split.valid": [RATE],
    "split.test": [RATE],
    "labels": [InstanceOf(dict, "a mapping of label name -> spec"), None],
}


def _problem(key: str, expected: str, value: object, fix: str = "") -> str:
    return option_message(_OWNER, key, expected, value, fix)


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
        top = not where.startswith("'")  # the whole file: no option to name
        problems.append(
            f"{where} must be a mapping. Got {raw!r}."
            if top
            else _problem(where[1:-1], "a mapping", raw)
        )
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
    if not isinstance(raw, list) or not STRINGS.is_satisfied_by(raw):
        problems.append(_problem(where, "a list of column names", raw))
        return ()
    return tuple(raw)


def _chars(where: str, raw: object, problems: list[str]) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not all(
        NON_NEGATIVE_INT.is_satisfied_by(v) for v in raw.values()
    ):
        problems.append(_problem(where, _CHARS, raw))
        return ()
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
    where = f"labels.{name}"
    spec = _mapping(f"'{where}'", raw, _LABEL, problems)
    if not isinstance(raw, Mapping):
        return None
    source = spec.get("from", name)
    if not Text().is_satisfied_by(source):
        problems.append(_problem(f"{where}.from", "a column name", source))
        return None
    rules: list[tuple[str, Any]] = []
    mapping = spec.get("map") or {}
    if not isinstance(mapping, Mapping):
        problems.append(_problem(f"{where}.map", "a mapping of label -> condition", mapping))
        mapping = {}
    for label, condition in mapping.items():
        conditions = condition if isinstance(condition, list) else [condition]
        for cond in conditions:
            rules.append(
                (str(label), parse_condition(cond) if isinstance(cond, str) else ("==", cond))
            )
    default = spec.get("default")
    return LabelSpec(name, source, tuple(rules), None if default is None else str(default))


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
    filters = _mapping("'filters'", top.get("filters"), _FILTERS, problems)
    language = _mapping(
        "'filters.language'", filters.get("language"), ("column", "keep", "undetermined"), problems
    )
    dedupe = _mapping("'dedupe'", top.get("dedupe"), _DEDUPE, problems)
    split = _mapping("'split'", top.get("split"), _SPLIT, problems)
    ok = valid_values(
        _OWNER,
        _RULES,
        {
            "columns": top.get("columns"),
            "filters.language.undetermined": language.get("undetermined", "keep"),
            "dedupe.near_threshold": dedupe.get("near_threshold", 0.9),
            "split.valid": split.get("valid", 0.1),
            "split.test": split.get("test", 0.1),
            "labels": top.get("labels"),
        },
        problems,
    )
    columns_raw = ok.get("columns") or {}
    if not all(isinstance(v, str) for v in columns_raw.values()):
        problems.append(
            _problem("columns", "a mapping of output column -> source field", columns_raw)
        )
        columns_raw = {}
    labels = [_label(str(n), spec, problems) for n, spec in (ok.get("labels") or {}).items()]
    valid, test = float(ok.get("split.valid", 0.0)), float(ok.get("split.test", 0.0))
    if valid + test >= 1:
        fix = f"split.valid + split.test = {valid + test}: make them sum to less than 1."
        problems.append(
            _problem("split.test", f"less than 1 - split.valid = {1 - valid:g}", test, fix)
        )
    near = ok.get("dedupe.near_threshold")
    config = BuildConfig(
        columns=tuple((str(k), str(v)) for k, v in columns_raw.items()),
        text=_str_list("text", top.get("text"), problems),
        required=_str_list("filters.required", filters.get("required"), problems),
        min_chars=_chars("filters.min_chars", filters.get("min_chars"), problems),
        max_chars=_chars("filters.max_chars", filters.get("max_chars"), problems),
        language_column=language.get("column") or ("text" if language else None),
        languages=_str_list("filters.language.keep", language.get("keep"), problems),
        keep_undetermined=ok.get("filters.language.undetermined", "keep") == "keep",
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
