"""The one YAML reader of manyheads (run, crawl and dataset-build configs, ``key=value`` overrides).

Rules, the same everywhere (documented in ``docs/config.md``):

- safe loading only (no Python objects);
- numbers in YAML 1.2 form are numbers: ``1e-3``, ``1E3``, ``1.5e3`` and ``.5e-3`` are floats
  (YAML 1.1, PyYAML's default, reads them as strings: it wants a dot and a signed exponent,
  ``1.0e-3``);
- a key may appear once in a mapping (plain YAML silently keeps the last one);
- every error is a :class:`~manyheads.errors.ConfigError` naming the file (or the override),
  the line and the column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from manyheads.errors import ConfigError

__all__ = ["load_yaml", "read_yaml_file", "yaml_value"]

#: YAML 1.2 core-schema floats that YAML 1.1 does not know: an exponent without a dot.
_FLOAT_12 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)[eE][-+]?[0-9]+$")


class _Loader(yaml.SafeLoader):
    """A safe loader with YAML 1.2 numbers that refuses duplicate keys."""


# a copy, so that yaml.SafeLoader itself keeps its YAML 1.1 rules
_Loader.yaml_implicit_resolvers = {
    key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(  # type: ignore[no-untyped-call]
    "tag:yaml.org,2002:float", _FLOAT_12, list("-+0123456789.")
)


class _DuplicateKey(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)  # type: ignore[no-untyped-call]
        try:
            repeated = key in seen
        except TypeError:  # an unhashable key: construct_mapping says so, with its place
            break
        if repeated:
            mark = key_node.start_mark
            raise _DuplicateKey(
                f"duplicate key '{key}' at line {mark.line + 1}, column {mark.column + 1}: "
                "each key (task name, column, setting) may appear once in a mapping; "
                "remove one of them."
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _describe(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        started = ""
        if exc.context and exc.context_mark is not None:
            start = exc.context_mark
            started = (
                f" ({exc.context}, which starts at line {start.line + 1}, "
                f"column {start.column + 1})"
            )
        return f"invalid YAML at {where}: {exc.problem}{started}."
    return f"invalid YAML: {exc}"


def load_yaml(text: str, *, source: str | None = None) -> Any:  # noqa: ANN401 - parsed YAML; the schema checks its shape
    """Parse YAML text with the package's rules; ``None`` for an empty document.

    Args:
        text: the YAML text.
        source: the file (or override) it came from, named in errors.

    Raises:
        ConfigError: a syntax error or a duplicate key, naming the line and column.

    Example:
        >>> load_yaml("lr: 1e-3\\nepochs: 2")
        {'lr': 0.001, 'epochs': 2}
        >>> load_yaml("a: 1\\na: 2", source="cfg.yaml")
        Traceback (most recent call last):
        ...
        manyheads.errors.ConfigError: cfg.yaml: 1 problem in the configuration:
          - duplicate key 'a' at line 2, column 1: each key (task name, column, setting) may appear once in a mapping; remove one of them.
    """  # noqa: E501
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except _DuplicateKey as exc:
        raise ConfigError([exc.message], source=source) from None
    except yaml.YAMLError as exc:
        raise ConfigError([_describe(exc)], source=source) from None
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


def read_yaml_file(path: str | Path, *, what: str = "config") -> Any:  # noqa: ANN401 - parsed YAML; the schema checks its shape
    """Read and parse a YAML file; every way it can fail is a ConfigError naming the file.

    Args:
        path: the file.
        what: what the file is, for messages (``config``, ``crawl config`` ...).

    Raises:
        ConfigError: the file is missing, a directory, unreadable, not UTF-8, or not valid YAML.
    """
    p = Path(path)
    if not p.exists():
        raise ConfigError([f"cannot read the {what}: no such file."], source=str(p))
    if p.is_dir():
        raise ConfigError(
            [f"the {what} path is a directory, not a YAML file: give the path of the file."],
            source=str(p),
        )
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"cannot read the {what}: {exc.strerror}."], source=str(p)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError(
            [
                f"the {what} is not UTF-8 text: byte 0x{raw[exc.start]:02x} at line {line}, "
                f"column {column}. Save the file as UTF-8."
            ],
            source=str(p),
        ) from None
    return load_yaml(text, source=str(p))


def yaml_value(text: str, *, override: str) -> Any:  # noqa: ANN401 - parsed YAML; the schema checks its shape
    """The value of a ``key=value`` override, read as YAML by the same rules as a file.

    Args:
        text: the part after ``=``.
        override: the whole argument, named in errors.

    Raises:
        ConfigError: the value is not valid YAML.

    Example:
        >>> yaml_value("1e-3", override="train.lr=1e-3")
        0.001
    """
    try:
        return load_yaml(text)
    except ConfigError as exc:
        raise ConfigError(
            [f"override '{override}': the value is not valid YAML ({'; '.join(exc.problems)})"]
        ) from None
