"""Resuming a run: read its checkpoint, check that it fits this run, load it into the loop.

A checkpoint is read and checked before anything is loaded or written (:func:`read_resume_point`,
called early by the workflow), and loaded by :func:`restore` when training starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from manyheads.architectures.base import MTLModel
from manyheads.config.train import TrainSettings
from manyheads.engine._bookkeeping import Bookkeeping
from manyheads.engine._checkpointing import Checkpoints, ResumePoint
from manyheads.engine._optim import build_optimizer, param_groups
from manyheads.engine._per_task_best import PerTaskBest
from manyheads.engine.checkpoint import fingerprint_changes, load_checkpoint, optimizer_from_flat
from manyheads.engine.loop import LoopState
from manyheads.errors import DataError, InvalidParameterError

__all__ = ["ResumePoint", "read_resume_point", "restore", "resume_point"]


def read_resume_point(
    directory: Path,
    *,
    model: MTLModel,
    method: torch.nn.Module,
    settings: TrainSettings,
    fingerprint: dict[str, Any] | None,
) -> ResumePoint:
    """Read the checkpoint in ``directory`` and check that this run can continue it.

    Nothing is loaded into ``model`` or ``method``: a caller checks first, writes after.

    Args:
        directory: the run directory.
        model: the model the run builds (its state's keys and shapes are compared).
        method: the balancing method (its state's keys and shapes are compared).
        settings: the run's settings (they build the optimiser whose state is compared).
        fingerprint: the run's fingerprint; None skips that comparison.

    Raises:
        InvalidParameterError: no checkpoint in ``directory`` (nothing to resume), or the
            configuration, data or encodings changed since it was written (every change is
            listed, old → new; ``train.epochs`` may grow).
        DataError: the checkpoint is damaged or does not fit the model (names the file).
    """
    if not (directory / "checkpoint.json").is_file():
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': it holds no checkpoint.json (a run writes "
            "one after each epoch, and deletes it when it finishes unless --keep-checkpoint). "
            "Drop --resume to start the run."
        )
    groups, meta = load_checkpoint(directory)
    if fingerprint is not None:
        changes = fingerprint_changes(meta["fingerprint"], fingerprint)
        if changes:
            raise InvalidParameterError(
                f"Cannot resume the run in '{directory}': {len(changes)} thing(s) changed since "
                "its checkpoint was written, so the resumed run would not be the run that "
                "config.yaml describes:\n"
                + "\n".join(f"  - {c}" for c in changes)
                + "\nRestore the old values to resume (train.epochs may grow to extend a run), "
                "or train into another 'output' (or --overwrite) to start again."
            )
    where = f"{directory / 'checkpoint.json'} (tensors: {directory / meta['tensors_file']})"
    _check_fits(groups, meta, model, method, settings, where)
    return groups, meta


def resume_point(
    checkpoints: Checkpoints | None,
    *,
    resume: bool,
    model: MTLModel,
    method: torch.nn.Module,
    settings: TrainSettings,
) -> ResumePoint | None:
    """The checkpoint a run continues: None without ``resume``, else the one the caller read
    already (``checkpoints.restored``) or the one in ``checkpoints.directory``, checked.

    Raises:
        InvalidParameterError: ``resume`` without a run directory, no checkpoint, or a changed
            fingerprint (see :func:`read_resume_point`).
        DataError: the checkpoint is damaged or does not fit the model.
    """
    if not resume:
        return None
    if checkpoints is None:
        raise InvalidParameterError("resume needs a run directory ('output') to resume.")
    if checkpoints.restored is not None:
        return checkpoints.restored
    return read_resume_point(
        checkpoints.directory,
        model=model,
        method=method,
        settings=settings,
        fingerprint=checkpoints.fingerprint,
    )


def restore(
    point: ResumePoint,
    *,
    model: MTLModel,
    method: torch.nn.Module,
    loop: LoopState,
    book: Bookkeeping,
) -> int:
    """Load a checked checkpoint into the model, the method, the loop (optimiser, shuffling and
    global random states, step) and the bookkeeping; return the last completed epoch."""
    groups, meta = point
    model.load_state_dict(groups["model"])
    method.load_state_dict(groups["method"])
    loop.optimizer.load_state_dict(optimizer_from_flat(groups["optim"], meta["optimizer"]))
    loop.generator.set_state(groups["rng"]["shuffle"])
    torch.set_rng_state(groups["rng"]["torch"])
    loop.step = meta["step"]
    book.load(groups["best"], meta)
    return int(meta["epoch"])


def _check_fits(
    groups: dict[str, dict[str, Tensor]],
    meta: dict[str, Any],
    model: MTLModel,
    method: torch.nn.Module,
    s: TrainSettings,
    path: str,
) -> None:
    """Raise a DataError naming ``path`` unless every tensor fits ``model``, ``method`` and
    the optimiser ``s`` builds (keys, shapes, dtypes)."""
    problems = _state_problems(groups, model, method)
    problems += _task_best_problems(meta["task_best"], model)
    problems += _rng_problems(groups["rng"])
    probe = build_optimizer(param_groups(model, method, s), s)
    problems += _optimizer_problems(groups["optim"], meta["optimizer"], probe)
    if not problems:
        try:
            probe.load_state_dict(optimizer_from_flat(groups["optim"], meta["optimizer"]))
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            problems.append(f"optimiser state: {exc}")
    if problems:
        raise DataError(
            f"the checkpoint does not fit this run's model ({len(problems)} problem(s)): "
            + "; ".join(problems[:6])
            + ". It is damaged, or was written by another version: start the run again with "
            "--overwrite instead of --resume.",
            path=path,
        )


def _compare(group: str, saved: dict[str, Tensor], expected: dict[str, Tensor]) -> list[str]:
    """Missing, unexpected and mis-shaped tensors of one group (a balancing method's empty
    buffer takes its shape from the checkpoint)."""
    problems = []
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    if missing:
        problems.append(f"{group}: missing {', '.join(missing[:3])}")
    if extra:
        problems.append(f"{group}: unexpected {', '.join(extra[:3])}")
    for key in sorted(set(saved) & set(expected)):
        got, exp = saved[key], expected[key]
        lazy = group == "method" and exp.numel() == 0  # takes its shape from the checkpoint
        if (got.shape != exp.shape and not lazy) or got.dtype != exp.dtype:
            problems.append(
                f"{group}.{key}: expected {exp.dtype} {list(exp.shape)}, "
                f"found {got.dtype} {list(got.shape)}"
            )
    return problems


def _state_problems(
    groups: dict[str, dict[str, Tensor]], model: MTLModel, method: torch.nn.Module
) -> list[str]:
    """The model, method, best-epoch and per-task best tensors against this run's."""
    want = model.state_dict()
    problems = _compare("model", groups["model"], want)
    problems += _compare("method", groups["method"], method.state_dict())
    prefix = PerTaskBest.PREFIX
    best = {k: v for k, v in groups["best"].items() if not k.startswith(prefix)}
    if best:
        problems += _compare("best", best, want)
    per_task = {k: v for k, v in groups["best"].items() if k.startswith(prefix)}
    if per_task:
        problems += _compare(
            "best",
            {k.removeprefix(prefix): v for k, v in per_task.items()},
            {
                f"{t}::{k}": want[k]
                for t in model.task_names
                for k in model.task_state_keys(t) or []
                if f"{prefix}{t}::{k}" in per_task
            },
        )
    return problems


def _task_best_problems(task_best: dict[str, Any] | None, model: MTLModel) -> list[str]:
    """``task_best`` is there exactly for an architecture of independent tasks, with a score
    and an epoch per task."""
    independent = all(model.task_state_keys(t) is not None for t in model.task_names)
    if (task_best is not None) != independent or (
        task_best is not None
        and not all(
            isinstance(task_best.get(k), dict) and set(task_best[k]) == set(model.task_names)
            for k in ("score", "epoch")
        )
    ):
        return ["checkpoint.json 'task_best' does not fit the architecture's tasks"]
    return []


def _rng_problems(rng: dict[str, Tensor]) -> list[str]:
    """The shuffling and global random states are there, each of the right shape."""
    problems = []
    for name, expected in (
        ("shuffle", torch.Generator().get_state()),
        ("torch", torch.get_rng_state()),
    ):
        got = rng.get(name)
        if got is None or got.dtype != expected.dtype or got.shape != expected.shape:
            problems.append(f"rng.{name}: expected a {list(expected.shape)} random-number state")
    extra_rng = sorted(set(rng) - {"shuffle", "torch"})
    if extra_rng:
        problems.append(f"rng: unexpected {', '.join(extra_rng)}")
    return problems


def _optimizer_problems(
    tensors: dict[str, Tensor], meta: dict[str, Any], probe: torch.optim.Optimizer
) -> list[str]:
    """Every saved optimiser entry names a parameter of ``probe``, with its shape."""
    problems = []
    params = [p for g in probe.param_groups for p in g["params"]]
    for idx in meta["scalars"]:
        if not str(idx).isdigit() or int(idx) >= len(params):
            problems.append(f"optimizer.scalars.{idx}: the optimiser has {len(params)} parameters")
    for name, value in tensors.items():
        idx = name.split(".", 2)[1]
        if int(idx) >= len(params):
            problems.append(f"{name}: the optimiser has {len(params)} parameters")
        elif value.dim() > 0 and value.shape != params[int(idx)].shape:
            problems.append(
                f"{name}: expected {list(params[int(idx)].shape)}, found {list(value.shape)}"
            )
    return problems
