"""The training step of a run: its events, the resume point, the run directory opened, the loop,
and a disk error while training named as the file it could not write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from manyheads._files import os_error
from manyheads._methods import Method
from manyheads.architectures.base import MTLModel
from manyheads.config.schema import RunConfig
from manyheads.distributed._ddp import agree_before_writing, current_comm, is_writer
from manyheads.engine import Checkpoints, ResumePoint, TrainInputs, TrainResult, train_model
from manyheads.engine.events import Events
from manyheads.engine.progress import attach_progress
from manyheads.workflow._encoding import Encoded, run_fingerprint
from manyheads.workflow._events import attach_estimate
from manyheads.workflow._output import in_folder, open_run_dir, resume_point
from manyheads.workflow._run_options import RunOptions, TrainHook

__all__ = ["train_run"]


def train_run(
    config: RunConfig,
    encoded: Encoded,
    model: MTLModel,
    method: Method,
    directory: Path | None,
    options: RunOptions,
    inputs: TrainInputs,
    hook: TrainHook | None,
) -> TrainResult:
    """Train ``model`` on ``inputs`` with its events attached; the run directory is written from
    here on."""
    events = Events()
    attach_progress(events, quiet=options.quiet, log=options.say)
    stamp = _with_processes(run_fingerprint(config, encoded)) if directory else None
    restored: ResumePoint | None = None
    if directory is not None and options.resume:  # checked before anything in it is written
        restored = resume_point(
            directory, model, method, config.train, stamp, overwrite=options.overwrite
        )
    attach_estimate(events, options.say)
    agree_before_writing(lambda: run_fingerprint(config, encoded))  # data-parallel ranks
    if directory is not None and is_writer():
        open_run_dir(directory, config, events, model, encoded, overwrite=options.overwrite)
    if hook is not None:
        hook.attach(events, directory if is_writer() else None)
    try:
        return train_model(
            model,
            method,
            inputs,
            settings=config.train,
            events=events,
            checkpoints=None if directory is None else Checkpoints(directory, stamp, restored),
            resume=options.resume,
        )
    except OSError as exc:  # writing history, checkpoints or events: disk full, permissions
        if directory is None or not in_folder(exc, directory):
            raise
        raise os_error(exc, exc.filename, "write the run's file") from None


def _with_processes(stamp: dict[str, Any]) -> dict[str, Any]:
    """A data-parallel run's fingerprint also holds its process count: a resume on another
    count would train on other global batches, and is refused."""
    n_ranks = current_comm().world_size
    if n_ranks == 1:  # one process: the fingerprint of every earlier version
        return stamp
    return {**stamp, "config": {**stamp.get("config", {}), "processes (--nproc)": n_ranks}}
