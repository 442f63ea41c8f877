"""The metadata file of a bundle, ``model.json``: strict JSON, checked key by key when read.

Every key that building the model relies on is checked before anything is built, and each
problem is a :class:`~manyheads.errors.DataError` naming the file and the key; the encoder's
model folder is confined to the bundle. ``model.json`` is written without NaN or infinity
(:func:`non_finite` names the first one, for the message).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NoReturn

from manyheads.errors import DataError

__all__ = ["FIX", "FORMAT", "check_meta", "confine_paths", "non_finite", "read_meta", "reason"]

FORMAT = "manyheads-model/1"

#: The fix every message about a damaged bundle ends with.
FIX = "The bundle was edited or damaged: train the model again or restore the file."

#: Top-level keys of ``model.json`` and the JSON type each must have.
_TOP: dict[str, type] = {
    "format": str,
    "architecture": str,
    "options": dict,
    "tasks": list,
    "preprocessor": dict,
}
#: Keys of ``model.json``'s ``preprocessor`` (those of models saved before images and
#: sequences may lack ``image`` and ``sequence``).
_PRE: dict[str, type] = {
    "inputs": dict,
    "numeric": dict,
    "categorical": dict,
    "text": dict,
    "task_states": dict,
}
_JSON_NAMES: dict[type, str] = {str: "string", dict: "object", list: "list"}


def non_finite(value: object, key: str = "") -> str:
    """The key path of the first NaN or ±inf in ``value`` ("" if none).

    Example:
        >>> non_finite({"tasks": [{"weight": 1.0}, {"weight": float("inf")}]})
        'tasks[1].weight'
    """
    if isinstance(value, float) and not math.isfinite(value):
        return key
    items: Iterable[tuple[str, object]] = ()
    if isinstance(value, dict):
        items = ((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(value))
    for sub, v in items:
        found = non_finite(v, sub)
        if found:
            return found
    return ""


def reason(exc: BaseException) -> str:
    """The short cause of a failure to build or load, for a message."""
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    text = str(exc).strip().rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def read_meta(path: Path) -> dict[str, Any]:
    """``model.json`` as a JSON object (strict: no NaN, no Infinity)."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}). {FIX}", path=where) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=where) from None
    try:
        meta = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON ({exc.msg}, column {exc.colno}). {FIX}", path=where, line=exc.lineno
        ) from None
    except ValueError as exc:
        raise DataError(f"{exc}. {FIX}", path=where) from None
    if not isinstance(meta, dict):
        raise DataError(
            f"expected a JSON object with the keys {', '.join(_TOP)}; got a JSON "
            f"{type(meta).__name__}. {FIX}",
            path=where,
        )
    return meta


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"'{name}' is not a JSON number (manyheads writes none)")


def check_meta(meta: dict[str, Any], path: Path) -> None:
    """The keys and types of ``model.json`` that building relies on, each named when wrong."""
    where = str(path)
    _need(meta, _TOP, "", where)
    if meta["format"] != FORMAT:
        raise DataError(
            f"unsupported model format {meta['format']!r} (key 'format'); expected {FORMAT}.",
            path=where,
        )
    _check_tasks(meta["tasks"], where)
    pre = meta["preprocessor"]
    _need(pre, _PRE, "preprocessor.", where)
    _check_numeric(pre["numeric"], where)
    _check_categorical(pre["categorical"], where)
    for task in meta["tasks"]:
        if task["name"] not in pre["task_states"]:
            raise DataError(
                f"the key 'preprocessor.task_states.{task['name']}' is missing (task "
                f"'{task['name']}'). {FIX}",
                path=where,
            )


def _need(owner: dict[str, Any], keys: dict[str, type], prefix: str, where: str) -> None:
    """Each of ``keys`` is in ``owner`` with its JSON type."""
    for key, kind in keys.items():
        if key not in owner:
            raise DataError(f"the key '{prefix}{key}' is missing. {FIX}", path=where)
        if not isinstance(owner[key], kind):
            raise DataError(
                f"the key '{prefix}{key}' must be a JSON {_JSON_NAMES[kind]}; got "
                f"{_json_name(owner[key])}. {FIX}",
                path=where,
            )


def _check_tasks(tasks: list[object], where: str) -> None:
    if not tasks:
        raise DataError(f"the key 'tasks' is an empty list; a model has tasks. {FIX}", path=where)
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise DataError(
                f"the key 'tasks[{i}]' must be a JSON object; got {_json_name(task)}. {FIX}",
                path=where,
            )
        _need(task, {"name": str, "type": str}, f"tasks[{i}].", where)


def _check_numeric(numeric: dict[str, object], where: str) -> None:
    """Each numeric column's mean is finite and its std finite and > 0."""
    for col, stats in numeric.items():
        key = f"preprocessor.numeric.{col}"
        if not isinstance(stats, dict):
            raise DataError(f"the key '{key}' must be a JSON object. {FIX}", path=where)
        for name in ("mean", "std"):
            value: Any = stats.get(name)
            if not _finite(value) or (name == "std" and value <= 0):
                want = "a finite number > 0" if name == "std" else "a finite number"
                raise DataError(
                    f"the key '{key}.{name}' must be {want}; got {_json_name(value)}. {FIX}",
                    path=where,
                )


def _check_categorical(categorical: dict[str, object], where: str) -> None:
    for col, vocab in categorical.items():
        if not isinstance(vocab, list) or not all(isinstance(v, str) for v in vocab):
            raise DataError(
                f"the key 'preprocessor.categorical.{col}' must be a list of strings (the "
                f"column's vocabulary). {FIX}",
                path=where,
            )


def _json_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "a list" if isinstance(value, list) else "an object"


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def confine_paths(options: dict[str, Any], directory: Path, path: Path) -> dict[str, Any]:
    """``options`` with the encoder's model folder confined to the bundle.

    A bundle rebuilds a pretrained encoder from ``encoder_options.model_config`` and reads no
    file; a ``path`` it would load instead must lie inside the bundle's folder.
    """
    enc = options.get("encoder_options")
    if enc is None:
        return options
    if not isinstance(enc, dict):
        raise DataError(
            f"the key 'options.encoder_options' must be a JSON object; got {_json_name(enc)}. "
            f"{FIX}",
            path=str(path),
        )
    if enc.get("path") is None or enc.get("model_config") is not None:
        return options
    root = directory.resolve()
    target = (directory / str(enc["path"])).resolve()
    if not target.is_relative_to(root):
        raise DataError(
            f"the key 'options.encoder_options.path' points at {enc['path']!r}, outside the "
            f"bundle {str(directory)!r}: a bundle loads no file outside itself (its encoder is "
            f"rebuilt from 'options.encoder_options.model_config'). {FIX}",
            path=str(path),
        )
    return {**options, "encoder_options": {**enc, "path": str(target)}}
