"""Checkpoints as safetensors (tensors) + JSON (everything else). Never pickles.

A checkpoint holds the model, the balancing method's state, the optimiser state, the RNG states and
the loop's bookkeeping, so that a resumed run ends exactly where an uninterrupted one would.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor

__all__ = ["load_checkpoint", "optimizer_from_flat", "optimizer_to_flat", "save_checkpoint"]


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
    tmp.write_text(json.dumps(_strict(data), indent=2, allow_nan=False))
    os.replace(tmp, path)


def _strict(value: Any) -> Any:
    """Strict JSON: a non-finite float (an initial best score of inf, a NaN metric) becomes
    ``{"float": "inf"}``, which :func:`_unstrict` reads back."""
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": repr(value)}
    return value


def _unstrict(value: dict[str, Any]) -> Any:
    """``json.loads`` object hook, the inverse of :func:`_strict`."""
    if len(value) == 1 and isinstance(value.get("float"), str):
        return float(value["float"])
    return value


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


def load_checkpoint(directory: Path) -> tuple[dict[str, dict[str, Tensor]], dict[str, Any]]:
    """Read a checkpoint: tensors grouped by prefix (model, method, optim, rng, best) and meta."""
    meta: dict[str, Any] = json.loads(
        (directory / "checkpoint.json").read_text(), object_hook=_unstrict
    )
    tensors = load_file(str(directory / meta["tensors_file"]))
    groups: dict[str, dict[str, Tensor]] = {"model": {}, "method": {}, "rng": {}, "best": {}}
    optim: dict[str, Tensor] = {}
    for name, value in tensors.items():
        prefix, rest = name.split(".", 1)
        if prefix == "optim":
            optim[name] = value
        else:
            groups[prefix][rest] = value
    groups["optim"] = optim
    return groups, meta
