"""``checkpoint.json``: strict JSON written atomically, read back with every key checked.

Strict JSON has no ``inf`` or ``nan``: a non-finite float (an initial best score of inf, a NaN
metric) is written as ``{"float": "inf"}``. Every problem of a damaged file is a
:class:`~manyheads.errors.DataError` that names the file and the fix.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from manyheads.errors import DataError

__all__ = ["read_meta", "strict", "unstrict", "write_json"]

#: The name of a checkpoint's tensors file (``checkpoint.json`` names it).
_TENSORS_FILE = re.compile(r"checkpoint-\d{5,}\.safetensors")
#: Keys of ``checkpoint.json`` and the JSON types they must have.
_META: dict[str, tuple[type, ...]] = {
    "epoch": (int,),
    "step": (int,),
    "stale": (int,),
    "history": (list,),
    "best_epoch": (int,),
    "best_score": (int, float),
    "train_seconds": (int, float),
    "task_best": (dict, type(None)),
    "optimizer": (dict,),
    "tensors_file": (str,),
    "fingerprint": (dict,),
}


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as strict JSON into ``path`` atomically (a temporary file, then a
    rename), so that a killed process never leaves half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(strict(data), indent=2, allow_nan=False))
    os.replace(tmp, path)


def strict(value: object) -> object:
    """Strict JSON: a non-finite float (an initial best score of inf, a NaN metric) becomes
    ``{"float": "inf"}``, which :func:`unstrict` reads back."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def unstrict(value: dict[str, Any]) -> float | dict[str, Any]:
    """``json.loads`` object hook, the inverse of :func:`strict`."""
    if len(value) == 1 and isinstance(value.get("float"), str):
        return float(value["float"])
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_meta(path: Path) -> dict[str, Any]:
    """``checkpoint.json``, checked key by key (a DataError names every problem and the file)."""
    meta = _read_json(path)
    problems = _type_problems(meta)
    if not problems:
        problems = _value_problems(meta)
    if problems:
        older = (
            " (a checkpoint written before fingerprints has none)"
            if ("'fingerprint' is missing" in problems)
            else ""
        )
        raise DataError(
            f"the checkpoint is damaged{older}: {'; '.join(problems)}. Start the run again "
            "with --overwrite instead of --resume.",
            path=str(path),
        )
    return meta


def _read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path`` (non-finite floats restored by :func:`_unstrict`)."""
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"), object_hook=unstrict)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"the checkpoint is not valid JSON ({exc}); the file is damaged. Start the run "
            "again with --overwrite instead of --resume.",
            path=str(path),
        ) from None
    except OSError as exc:
        raise DataError(f"cannot read the checkpoint: {exc.strerror}.", path=str(path)) from None
    if not isinstance(meta, dict):
        raise DataError(
            f"the checkpoint must be a JSON object; got {type(meta).__name__}. The file is "
            "damaged: start the run again with --overwrite instead of --resume.",
            path=str(path),
        )
    return meta


def _type_problems(meta: dict[str, Any]) -> list[str]:
    """Every key of :data:`_META` that is missing or of another JSON type."""
    problems = []
    for key, types in _META.items():
        if key not in meta:
            problems.append(f"'{key}' is missing")
        elif isinstance(meta[key], bool) or not isinstance(meta[key], types):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"'{key}' must be {want}, got {json.dumps(meta[key])[:40]}")
    return problems


def _value_problems(meta: dict[str, Any]) -> list[str]:
    """The values that cannot be (the keys have their types)."""
    problems = []
    if meta["epoch"] < 1 or meta["step"] < 0 or meta["stale"] < 0:
        problems.append(
            f"'epoch' must be >= 1 and 'step', 'stale' >= 0; got {meta['epoch']}, "
            f"{meta['step']}, {meta['stale']}"
        )
    history = meta["history"]
    if len(history) != meta["epoch"] or not all(
        isinstance(h, dict) and all(_is_number(v) for v in h.values()) for h in history
    ):
        problems.append(f"'history' must hold one object of numbers per epoch ({meta['epoch']})")
    if not 0 <= meta["best_epoch"] <= meta["epoch"]:
        problems.append(f"'best_epoch' must be in [0, {meta['epoch']}]")
    task_best = meta["task_best"]
    if task_best is not None and not all(
        isinstance(task_best.get(k), dict) and all(map(_is_number, task_best[k].values()))
        for k in ("score", "epoch")
    ):
        problems.append("'task_best' must hold 'score' and 'epoch' objects of numbers")
    return problems + _file_problems(meta)


def _file_problems(meta: dict[str, Any]) -> list[str]:
    """The optimiser's layout and the tensors file's name."""
    problems = []
    opt = meta["optimizer"]
    if not isinstance(opt.get("param_groups"), list) or not isinstance(opt.get("scalars"), dict):
        problems.append("'optimizer' must hold 'param_groups' (a list) and 'scalars' (an object)")
    if not _TENSORS_FILE.fullmatch(meta["tensors_file"]):
        problems.append(
            f"'tensors_file' must name a checkpoint-NNNNN.safetensors file beside it; got "
            f"{meta['tensors_file']!r}"
        )
    return problems
