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

import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import Tensor

from manyheads.engine._checkpoint_json import read_meta, write_json
from manyheads.engine._fingerprint import (
    fingerprint,
    fingerprint_changes,
    split_digest,
    table_digest,
)
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


def optimizer_to_flat(
    optimizer_state: dict[str, Any],
) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split an optimiser's ``state_dict()`` into tensors and a JSON-ready remainder."""
    tensors: dict[str, Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for idx, entry in optimizer_state["state"].items():
        for key, value in entry.items():
            if isinstance(value, Tensor):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": optimizer_state["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict[str, Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`optimizer_to_flat`."""
    per_param: dict[int, dict[str, Any]] = {}  # parameter index -> its buffers (moments, step)
    for name, value in tensors.items():
        if not name.startswith("optim."):
            continue
        _, idx, key = name.split(".", 2)
        per_param.setdefault(int(idx), {})[key] = value
    for idx, entry in meta["scalars"].items():
        per_param.setdefault(int(idx), {}).update(entry)
    return {"state": per_param, "param_groups": meta["param_groups"]}


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
    write_json(directory / "checkpoint.json", {**meta, "optimizer": opt_meta, "tensors_file": name})
    for old in directory.glob("checkpoint-*.safetensors"):
        if old.name != name:
            old.unlink()


def remove_checkpoint(directory: Path) -> None:
    """Delete the checkpoint files of a finished run (``checkpoint.json`` first, so that a
    process killed midway never leaves a JSON that points at a deleted tensors file)."""
    for pattern in CHECKPOINT_FILES:
        for path in sorted(directory.glob(pattern)):
            path.unlink(missing_ok=True)


def load_checkpoint(directory: Path) -> tuple[dict[str, dict[str, Tensor]], dict[str, Any]]:
    """Read a checkpoint: tensors grouped by prefix (model, method, optim, rng, best) and meta.

    Raises:
        DataError: ``checkpoint.json`` or its tensors file is missing, truncated, not valid
            JSON or safetensors, lacks a key, or holds a tensor outside the known groups.
    """
    meta = read_meta(directory / "checkpoint.json")
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
