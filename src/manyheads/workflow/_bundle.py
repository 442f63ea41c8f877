"""The self-describing model bundle: ``model.safetensors`` (weights) + ``model.json`` (metadata).

``model.json`` holds the architecture and its options, the task specs, the preprocessor state
(input kinds, normalisation statistics, vocabularies, tokenizers, label mappings) and the package
version: all that prediction needs. Nothing is pickled.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.encoders.base import InputEncoder
from manyheads.errors import DataError, InvalidParameterError, ManyheadsError
from manyheads.tasks.task import Task

__all__ = ["FORMAT", "read_bundle", "write_bundle"]

FORMAT = "manyheads-model/1"


def write_bundle(
    directory: Path,
    *,
    model: MTLModel,
    architecture: str,
    options: dict[str, Any],
    tasks: list[Task],
    preprocessor: TablePreprocessor,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the bundle into ``directory`` (weights first, then the JSON that makes it valid).

    The encoders' :meth:`~manyheads.encoders.base.InputEncoder.bundle_options` join
    ``options["encoder_options"]``, so loading reads no file outside the bundle.
    """
    from manyheads import __version__

    own: dict[str, Any] = {}
    for module in model.modules():
        if isinstance(module, InputEncoder):
            own.update(module.bundle_options())
    if own:
        options = {**options, "encoder_options": {**(options.get("encoder_options") or {}), **own}}

    meta = {
        "format": FORMAT,
        "version": __version__,
        "architecture": architecture,
        "options": options,
        "tasks": [t.to_dict() for t in tasks],
        "preprocessor": preprocessor.to_dict(),
        **(extra or {}),
    }
    try:
        text = json.dumps(meta, indent=1, allow_nan=False)  # strict JSON: no NaN, no Infinity
    except ValueError:
        raise InvalidParameterError(
            f"model.json would hold the non-finite number at '{_non_finite(meta)}'; every "
            "setting and statistic must be finite (docs/reliability.md). Set a finite value."
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = directory / "model.safetensors.tmp"
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, directory / "model.safetensors")
    tmp_json = directory / "model.json.tmp"
    tmp_json.write_text(text)
    os.replace(tmp_json, directory / "model.json")


def read_bundle(directory: Path) -> tuple[MTLModel, list[Task], TablePreprocessor, dict[str, Any]]:
    """Rebuild model, tasks and preprocessor from a bundle directory.

    Both files are checked before anything is built: ``model.json`` against the bundle's
    schema (keys, types, finite statistics, paths inside the bundle), ``model.safetensors``'s
    header against the file's size, and the model that ``model.json`` describes against the
    tensors present (same names, same shapes; it is first built without memory, on the
    ``meta`` device). So no edit of either file can allocate more than the weights hold or
    read a file outside the bundle, and each one is a :class:`DataError` naming the file and key.

    Raises:
        DataError: the directory holds no finished model, or a file of the bundle is corrupt.
    """
    meta_path = directory / "model.json"
    weights_path = directory / "model.safetensors"
    if not meta_path.is_file() or not weights_path.is_file():
        raise DataError(
            "not a manyheads model: model.json and model.safetensors are required (a run that "
            "did not finish has none; train it again or resume it with --resume).",
            path=str(directory),
        )
    shapes = _tensor_shapes(weights_path)
    meta = _read_meta(meta_path)
    _check_meta(meta, meta_path)
    options = _confine_paths(meta["options"], directory, meta_path)
    try:
        tasks = [Task.from_dict(d) for d in meta["tasks"]]
        pre = TablePreprocessor.from_dict(meta["preprocessor"], tasks)
        # sizes only: no memory, no initialisation. A pretrained encoder loaded from a folder
        # inside the bundle (not what manyheads writes) is bounded by that folder's weights.
        loads = options is not meta["options"]
        with torch.device("cpu" if loads else "meta"):
            skeleton = build_model(meta["architecture"], pre.spec, tasks, pre.task_states_, options)
        expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    except (ManyheadsError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataError(
            f"model.json does not describe a model manyheads can build ({_reason(exc)}). {_FIX}",
            path=str(meta_path),
        ) from None
    _check_tensors(expected, shapes, weights_path)
    try:
        model = build_model(meta["architecture"], pre.spec, tasks, pre.task_states_, options)
    except (ManyheadsError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise DataError(
            f"cannot build the model ({_reason(exc)}). {_FIX}", path=str(meta_path)
        ) from None
    try:
        model.load_state_dict(load_file(str(weights_path)))
    except Exception as exc:  # SafetensorError (not importable by name), OSError, RuntimeError
        raise DataError(
            f"cannot load the weights ({_reason(exc)}). {_FIX}", path=str(weights_path)
        ) from None
    model.eval()
    return model, tasks, pre, meta


def _non_finite(value: Any, key: str = "") -> str:
    """The key path of the first NaN or ±inf in ``value`` ("" if none).

    Example:
        >>> _non_finite({"tasks": [{"weight": 1.0}, {"weight": float("inf")}]})
        'tasks[1].weight'
    """
    if isinstance(value, float) and not math.isfinite(value):
        return key
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{key}.{k}" if key else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{key}[{i}]", v) for i, v in enumerate(value))
    for sub, v in items:
        found = _non_finite(v, sub)
        if found:
            return found
    return ""


_FIX = "The bundle was edited or damaged: train the model again or restore the file."

#: Bytes per element of each safetensors dtype.
_DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
#: A header larger than this is not one manyheads wrote (a model of 10^6 tensors needs ~100 MB).
_MAX_HEADER = 100_000_000


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    text = str(exc).strip().rstrip(".")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tensor_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor in a safetensors file, from its header, checked against
    the file's size (a truncated file, a bad header or a tensor past the end is a DataError)."""
    where = str(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > min(size - 8, _MAX_HEADER):
                raise DataError(
                    f"not a safetensors file, or truncated ({size} bytes; the header claims "
                    f"{max(n, 0)}). {_FIX}",
                    path=where,
                )
            raw = fh.read(n)
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=where) from None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise DataError(f"the safetensors header is not valid JSON. {_FIX}", path=where) from None
    if not isinstance(header, dict):
        raise DataError(f"the safetensors header is not a JSON object. {_FIX}", path=where)
    body = size - 8 - n
    shapes: dict[str, tuple[int, ...]] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        ok = isinstance(entry, dict) and entry.get("dtype") in _DTYPE_BYTES
        shape = entry.get("shape") if ok else None
        offsets = entry.get("data_offsets") if ok else None
        ok = ok and isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2
        ok = ok and all(type(o) is int for o in offsets)  # type: ignore[union-attr]
        if not ok:
            raise DataError(f"tensor '{name}' has a malformed header entry. {_FIX}", path=where)
        begin, end = offsets  # type: ignore[misc]
        need = math.prod(shape) * _DTYPE_BYTES[entry["dtype"]]  # type: ignore[arg-type]
        if not 0 <= begin <= end <= body or end - begin != need:
            raise DataError(
                f"tensor '{name}' ({entry['dtype']} {shape}) needs bytes {begin}..{begin + need} "
                f"but the file holds {body} bytes of data: it is truncated or edited. {_FIX}",
                path=where,
            )
        shapes[name] = tuple(shape)  # type: ignore[arg-type]
    return shapes


def _read_meta(path: Path) -> dict[str, Any]:
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text (byte {exc.start}). {_FIX}", path=where) from None
    except OSError as exc:
        raise DataError(f"cannot read the file ({exc.strerror or exc}).", path=where) from None
    try:
        meta = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON ({exc.msg}, column {exc.colno}). {_FIX}", path=where, line=exc.lineno
        ) from None
    except ValueError as exc:
        raise DataError(f"{exc}. {_FIX}", path=where) from None
    if not isinstance(meta, dict):
        raise DataError(
            f"expected a JSON object with the keys {', '.join(_TOP)}; got a JSON "
            f"{type(meta).__name__}. {_FIX}",
            path=where,
        )
    return meta


def _no_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number (manyheads writes none)")


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


def _check_meta(meta: dict[str, Any], path: Path) -> None:
    """The keys and types of ``model.json`` that building relies on, each named when wrong."""
    where = str(path)

    def need(owner: dict[str, Any], keys: dict[str, type], prefix: str) -> None:
        for key, kind in keys.items():
            if key not in owner:
                raise DataError(f"the key '{prefix}{key}' is missing. {_FIX}", path=where)
            if not isinstance(owner[key], kind):
                raise DataError(
                    f"the key '{prefix}{key}' must be a JSON {_JSON_NAMES[kind]}; got "
                    f"{_json_name(owner[key])}. {_FIX}",
                    path=where,
                )

    need(meta, _TOP, "")
    if meta["format"] != FORMAT:
        raise DataError(
            f"unsupported model format {meta['format']!r} (key 'format'); expected {FORMAT}.",
            path=where,
        )
    if not meta["tasks"]:
        raise DataError(f"the key 'tasks' is an empty list; a model has tasks. {_FIX}", path=where)
    for i, task in enumerate(meta["tasks"]):
        if not isinstance(task, dict):
            raise DataError(
                f"the key 'tasks[{i}]' must be a JSON object; got {_json_name(task)}. {_FIX}",
                path=where,
            )
        need(task, {"name": str, "type": str}, f"tasks[{i}].")
    pre = meta["preprocessor"]
    need(pre, _PRE, "preprocessor.")
    for col, stats in pre["numeric"].items():
        key = f"preprocessor.numeric.{col}"
        if not isinstance(stats, dict):
            raise DataError(f"the key '{key}' must be a JSON object. {_FIX}", path=where)
        for name in ("mean", "std"):
            value: Any = stats.get(name)
            if not _finite(value) or (name == "std" and value <= 0):
                want = "a finite number > 0" if name == "std" else "a finite number"
                raise DataError(
                    f"the key '{key}.{name}' must be {want}; got {_json_name(value)}. {_FIX}",
                    path=where,
                )
    for col, vocab in pre["categorical"].items():
        if not isinstance(vocab, list) or not all(isinstance(v, str) for v in vocab):
            raise DataError(
                f"the key 'preprocessor.categorical.{col}' must be a list of strings (the "
                f"column's vocabulary). {_FIX}",
                path=where,
            )
    for task in meta["tasks"]:
        if task["name"] not in pre["task_states"]:
            raise DataError(
                f"the key 'preprocessor.task_states.{task['name']}' is missing (task "
                f"'{task['name']}'). {_FIX}",
                path=where,
            )


_JSON_NAMES: dict[type, str] = {str: "string", dict: "object", list: "list"}


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


def _confine_paths(options: dict[str, Any], directory: Path, path: Path) -> dict[str, Any]:
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
            f"{_FIX}",
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
            f"rebuilt from 'options.encoder_options.model_config'). {_FIX}",
            path=str(path),
        )
    return {**options, "encoder_options": {**enc, "path": str(target)}}


def _check_tensors(
    expected: dict[str, tuple[int, ...]], found: dict[str, tuple[int, ...]], path: Path
) -> None:
    """The tensors the model needs are exactly those in the file, with the same shapes."""
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""))
        if extra:
            parts.append(f"unexpected {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else ""))
        raise DataError(
            f"the tensors do not match model.json ({'; '.join(parts)}). {_FIX}", path=str(path)
        )
    for name, shape in expected.items():
        if found[name] != shape:
            raise DataError(
                f"tensor '{name}' has shape {list(found[name])} but model.json describes "
                f"{list(shape)} (a vocabulary, layer size or option was changed). {_FIX}",
                path=str(path),
            )
