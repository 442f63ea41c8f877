"""Checkpoints as safetensors (tensors) + JSON (everything else). Never pickles.

A checkpoint holds the model, the balancing method's state, the optimiser state, the RNG states and
the loop's bookkeeping, so that a resumed run ends exactly where an uninterrupted one would. It
also holds the run's *fingerprint* (:func:`fingerprint`): the resolved configuration, a digest of
the encoded data and of the encodings, so that ``--resume`` refuses to continue a run whose
configuration or data changed (:func:`fingerprint_changes`).

Every file-boundary problem (a truncated or garbled file, invalid JSON, a missing key, an unknown
tensor, a tensors file outside the run directory) is a :class:`~manyheads.errors.DataError` that
names the file; the shapes are checked against the model by the trainer before anything loads.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from manyheads.errors import DataError

__all__ = [
    "CHECKPOINT_FILES",
    "fingerprint",
    "fingerprint_changes",
    "load_checkpoint",
    "optimizer_from_flat",
    "optimizer_to_flat",
    "remove_checkpoint",
    "save_checkpoint",
    "split_digest",
    "table_digest",
]

#: Glob patterns of the files a checkpoint consists of (in a run directory).
CHECKPOINT_FILES: tuple[str, ...] = ("checkpoint.json", "checkpoint-*.safetensors")

#: The tensor groups of a checkpoint (the prefix before the first dot of a tensor's name).
_GROUPS = ("model", "method", "optim", "rng", "best")
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


def optimizer_to_flat(state: dict[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimiser ``state_dict`` into tensors and a JSON-ready remainder."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`optimizer_to_flat`."""
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, idx, key = name.split(".", 2)
        state.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entry)
    return {"state": state, "param_groups": meta["param_groups"]}


def _atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def save_checkpoint(
    directory: Path,
    *,
    model: torch.nn.Module,
    method: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    rng: dict[str, Tensor],
    best_model: dict[str, Tensor] | None,
    meta: dict[str, Any],
) -> None:
    """Write ``checkpoint-<epoch>.safetensors``, then ``checkpoint.json`` that points at it.

    The JSON is replaced atomically and names its tensors file, and older tensor files are
    removed only after it, so a process killed at any moment leaves a consistent checkpoint.
    """
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors |= {
        f"method.{k}": v.detach().cpu().contiguous() for k, v in method.state_dict().items()
    }
    opt_tensors, opt_meta = optimizer_to_flat(optimizer.state_dict())
    tensors |= opt_tensors
    tensors |= {f"rng.{k}": v for k, v in rng.items()}
    if best_model is not None:
        tensors |= {f"best.{k}": v.detach().cpu().contiguous() for k, v in best_model.items()}
    name = f"checkpoint-{int(meta['epoch']):05d}.safetensors"
    tmp = directory / f"{name}.tmp"
    save_file(tensors, str(tmp))
    os.replace(tmp, directory / name)
    _atomic_write_json(
        directory / "checkpoint.json", {**meta, "optimizer": opt_meta, "tensors_file": name}
    )
    for old in directory.glob("checkpoint-*.safetensors"):
        if old.name != name:
            old.unlink()


def remove_checkpoint(directory: Path) -> None:
    """Delete the checkpoint files of a finished run (``checkpoint.json`` first, so that a
    process killed midway never leaves a JSON that points at a deleted tensors file)."""
    for pattern in CHECKPOINT_FILES:
        for path in sorted(directory.glob(pattern)):
            path.unlink(missing_ok=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _read_meta(path: Path) -> dict[str, Any]:
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
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
    problems = []
    for key, types in _META.items():
        if key not in meta:
            problems.append(f"'{key}' is missing")
        elif isinstance(meta[key], bool) or not isinstance(meta[key], types):
            want = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            problems.append(f"'{key}' must be {want}, got {json.dumps(meta[key])[:40]}")
    if not problems:
        if meta["epoch"] < 1 or meta["step"] < 0 or meta["stale"] < 0:
            problems.append(
                f"'epoch' must be >= 1 and 'step', 'stale' >= 0; got {meta['epoch']}, "
                f"{meta['step']}, {meta['stale']}"
            )
        history = meta["history"]
        if len(history) != meta["epoch"] or not all(
            isinstance(h, dict) and all(_is_number(v) for v in h.values()) for h in history
        ):
            problems.append(
                f"'history' must hold one object of numbers per epoch ({meta['epoch']})"
            )
        if not 0 <= meta["best_epoch"] <= meta["epoch"]:
            problems.append(f"'best_epoch' must be in [0, {meta['epoch']}]")
        task_best = meta["task_best"]
        if task_best is not None and not all(
            isinstance(task_best.get(k), dict) and all(map(_is_number, task_best[k].values()))
            for k in ("score", "epoch")
        ):
            problems.append("'task_best' must hold 'score' and 'epoch' objects of numbers")
        opt = meta["optimizer"]
        if not isinstance(opt.get("param_groups"), list) or not isinstance(
            opt.get("scalars"), dict
        ):
            problems.append(
                "'optimizer' must hold 'param_groups' (a list) and 'scalars' (an object)"
            )
        if not _TENSORS_FILE.fullmatch(meta["tensors_file"]):
            problems.append(
                f"'tensors_file' must name a checkpoint-NNNNN.safetensors file beside it; got "
                f"{meta['tensors_file']!r}"
            )
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


def load_checkpoint(directory: Path) -> tuple[dict[str, dict[str, Tensor]], dict[str, Any]]:
    """Read a checkpoint: tensors grouped by prefix (model, method, optim, rng, best) and meta.

    Raises:
        DataError: ``checkpoint.json`` or its tensors file is missing, truncated, not valid
            JSON or safetensors, lacks a key, or holds a tensor outside the known groups.
    """
    meta = _read_meta(directory / "checkpoint.json")
    path = directory / meta["tensors_file"]
    if not path.is_file():
        raise DataError(
            "the checkpoint's tensors file is missing or not a file (checkpoint.json names "
            "it). Start the run again with --overwrite instead of --resume.",
            path=str(path),
        )
    try:
        tensors = load_file(str(path))  # safetensors: no pickle, sizes checked against the file
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise DataError(
            f"the checkpoint's tensors cannot be read ({exc}); the file is truncated or "
            "damaged. Start the run again with --overwrite instead of --resume.",
            path=str(path),
        ) from None
    groups: dict[str, dict[str, Tensor]] = {g: {} for g in _GROUPS}
    unknown = []
    for name, value in tensors.items():
        prefix, dot, rest = name.partition(".")
        if prefix not in groups or not dot or not rest:
            unknown.append(name)
        elif prefix == "optim":
            idx, dot, key = rest.partition(".")
            if not idx.isdigit() or not dot or not key:
                unknown.append(name)
            groups[prefix][name] = value
        else:
            groups[prefix][rest] = value
    if unknown:
        raise DataError(
            f"the checkpoint holds {len(unknown)} unexpected tensor(s): "
            f"{', '.join(sorted(unknown)[:5])}; a checkpoint holds only model.*, method.*, "
            "optim.N.*, rng.* and best.* tensors. Start the run again with --overwrite.",
            path=str(path),
        )
    return groups, meta


# -- fingerprints --------------------------------------------------------------------------------
def table_digest(tensors: Mapping[str, Tensor]) -> str:
    """A SHA-256 of named tensors (names, dtypes, shapes and bytes), e.g. an encoded split.

    Example:
        >>> a = table_digest({"x": torch.zeros(2, 3)})
        >>> a == table_digest({"x": torch.zeros(2, 3)}), a == table_digest({"x": torch.ones(2, 3)})
        (True, False)
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def split_digest(n_rows: int, tensors: Mapping[str, Tensor]) -> dict[str, Any]:
    """The fingerprint of one encoded split: its row count and :func:`table_digest`."""
    return {"rows": int(n_rows), "sha256": table_digest(tensors)}


def _flatten(data: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = data


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(
    config: Mapping[str, Any],
    *,
    data: Mapping[str, Mapping[str, Any] | None],
    encodings: Mapping[str, Any],
    files: list[str] | None = None,
) -> dict[str, Any]:
    """What a resumed run must share with the run that wrote the checkpoint (JSON-ready).

    Args:
        config: the resolved configuration in its YAML layout; every key is kept (flattened
            to dotted keys) except ``output``, the run directory itself.
        data: split name -> its :func:`split_digest` (None for an absent split).
        encodings: name -> an encoding (input vocabularies, label classes ...), kept as digests.
        files: data files, kept with their size and modification time to explain a change.

    Example:
        >>> fp = fingerprint({"train": {"lr": 0.1}}, data={}, encodings={})
        >>> fp["config"]
        {'train.lr': 0.1}
    """
    flat: dict[str, Any] = {}
    _flatten(json.loads(json.dumps(dict(config), default=str)), "", flat)
    flat.pop("output", None)
    stats = {}
    for name in files or []:
        try:
            st = os.stat(name)
        except OSError:
            continue
        stats[name] = {"size": st.st_size, "mtime": st.st_mtime}
    return {
        "config": flat,
        "data": {split: None if entry is None else dict(entry) for split, entry in data.items()},
        "encodings": {name: _digest(value) for name, value in encodings.items()},
        "files": stats,
    }


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    return json.dumps(value, default=str)


_ABSENT = object()


def _rows(entry: Any) -> str:
    if entry is _ABSENT or entry is None:
        return "no rows"
    return f"{entry['rows']} rows, sha256 {str(entry['sha256'])[:12]}"


def _stat(entry: Any) -> str:
    if entry is None:
        return "(not read)"
    when = datetime.datetime.fromtimestamp(float(entry["mtime"]), datetime.UTC)
    return f"{entry['size']} bytes, modified {when:%Y-%m-%d %H:%M:%S} UTC"


def fingerprint_changes(
    saved: Mapping[str, Any], current: Mapping[str, Any], *, more_epochs: bool = True
) -> list[str]:
    """One line per difference between two :func:`fingerprint` results (old → new).

    With ``more_epochs``, ``train.epochs`` may grow (a user extends a run); every other change
    is listed.

    Example:
        >>> old = fingerprint({"train": {"lr": 0.1, "epochs": 2}}, data={}, encodings={})
        >>> new = fingerprint({"train": {"lr": 0.2, "epochs": 5}}, data={}, encodings={})
        >>> fingerprint_changes(old, new)
        ['train.lr: 0.1 → 0.2']
    """
    lines = []
    old_cfg, new_cfg = dict(saved.get("config") or {}), dict(current.get("config") or {})
    for key in sorted(set(old_cfg) | set(new_cfg)):
        old, new = old_cfg.get(key, _ABSENT), new_cfg.get(key, _ABSENT)
        if old == new:
            continue
        grows = isinstance(old, int) and isinstance(new, int) and new > old
        if key == "train.epochs" and more_epochs and grows:
            continue
        note = " (epochs may grow, not shrink)" if key == "train.epochs" and more_epochs else ""
        lines.append(f"{key}: {_show(old)} → {_show(new)}{note}")
    old_data, new_data = dict(saved.get("data") or {}), dict(current.get("data") or {})
    data_changed = False
    for split in sorted(set(old_data) | set(new_data)):
        old, new = old_data.get(split, _ABSENT), new_data.get(split, _ABSENT)
        if old == new:
            continue
        data_changed = True
        lines.append(f"data ({split} split, encoded): {_rows(old)} → {_rows(new)}")
    old_enc, new_enc = dict(saved.get("encodings") or {}), dict(current.get("encodings") or {})
    for name in sorted(set(old_enc) | set(new_enc)):
        if old_enc.get(name) != new_enc.get(name):
            data_changed = True
            lines.append(
                f"encodings.{name}: the encoding learnt from the training data changed "
                f"({str(old_enc.get(name, '-'))[:12]} → {str(new_enc.get(name, '-'))[:12]})"
            )
    if data_changed:
        old_files, new_files = dict(saved.get("files") or {}), dict(current.get("files") or {})
        for name in sorted(set(old_files) | set(new_files)):
            a, b = old_files.get(name), new_files.get(name)
            if a != b:
                lines.append(f"data file {name}: {_stat(a)} → {_stat(b)}")
    return lines
