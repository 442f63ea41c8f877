"""The run directory: which ``output`` a run may use, resuming, and writing the finished run.

The rule (README, "Command line"; :mod:`manyheads._files`): a run goes into a folder of its
own, marked by ``.manyheads-run``; nothing is written before the data has been read and
encoded, and ``metrics.json`` is written last, so a failed or killed run never looks finished.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from manyheads._files import (
    atomic_write_text,
    check_output_dir,
    clear_owned,
    data_paths,
    os_error,
    write_marker,
)
from manyheads._methods import Method
from manyheads.architectures.base import MTLModel
from manyheads.config.schema import RunConfig
from manyheads.config.train import TrainSettings
from manyheads.engine import ResumePoint, read_resume_point
from manyheads.engine.checkpoint import remove_checkpoint
from manyheads.engine.events import Events
from manyheads.engine.progress import attach_history, attach_tensorboard
from manyheads.errors import InvalidParameterError
from manyheads.workflow._affinity import attach_affinity
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._events import attach_relations
from manyheads.workflow._run import Run, json_safe

__all__ = [
    "check_resume",
    "check_run_output",
    "in_folder",
    "open_run_dir",
    "prepare_output",
    "resume_point",
    "write_run",
]


def check_run_output(
    config: RunConfig, *, resume: bool, overwrite: bool, protect: Sequence[str | Path] = ()
) -> Path | None:
    """Refuse an ``output`` that would put a user's files at risk, before any data is read.

    Never ``.``, a folder above the working directory, a folder holding the config or a data
    file, a file, an unwritable place, or a non-empty folder without the marker. A finished run
    is replaced only with ``--overwrite``, an unfinished one continued with ``--resume``.

    Raises:
        InvalidParameterError: naming the folder, what is wrong and the fix.
    """
    if config.output is None:
        return None
    directory = check_output_dir(
        config.output,
        protect=[*protect, *data_paths(config)],
        # an unfinished run of a version without the marker: --resume may continue it
        allow=lambda d: resume and (d / "checkpoint.json").exists(),
    )
    finished = (directory / "metrics.json").exists()
    started = (directory / "checkpoint.json").exists()
    if resume:  # the refusals of resume_point, before the data is read
        check_resume(directory, overwrite=overwrite)
    if finished and not overwrite:
        raise InvalidParameterError(
            f"The output directory '{directory}' already holds a finished run. Choose another "
            "'output', or pass --overwrite to replace it."
        )
    if started and not resume and not overwrite:
        raise InvalidParameterError(
            f"The output directory '{directory}' holds an unfinished run. Pass --resume to "
            "continue it, or --overwrite to start again."
        )
    return directory


def check_resume(directory: Path, *, overwrite: bool) -> None:
    """Refuse ``--resume`` with ``--overwrite``, on a finished run, and with no checkpoint."""
    if overwrite:
        raise InvalidParameterError(
            "--resume and --overwrite exclude each other: --resume continues the run in "
            f"'{directory}', --overwrite replaces it. Pass one of them."
        )
    if (directory / "metrics.json").exists():
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': the run there has finished (metrics.json). "
            "Train into another 'output' to train again (or pass --overwrite to replace it)."
        )
    if not (directory / "checkpoint.json").is_file():  # said before any data is read
        raise InvalidParameterError(
            f"Nothing to resume in '{directory}': it holds no checkpoint.json (a run writes "
            "one after each epoch, and deletes it when it finishes unless --keep-checkpoint). "
            "Drop --resume to start the run."
        )


def resume_point(
    directory: Path,
    model: MTLModel,
    method: Method,
    settings: TrainSettings,
    fingerprint: dict[str, Any] | None,
    *,
    overwrite: bool,
) -> ResumePoint:
    """The checkpoint ``--resume`` continues, read and checked (refuses a finished run)."""
    check_resume(directory, overwrite=overwrite)
    return read_resume_point(
        directory, model=model, method=method, settings=settings, fingerprint=fingerprint
    )


def prepare_output(directory: Path, config: RunConfig, *, overwrite: bool) -> None:
    """Clear the old run's files (``--overwrite``: only the files a run writes), write the
    marker first, then the resolved ``config.yaml``. The folder was checked by
    :func:`check_run_output`."""
    if overwrite:
        clear_owned(directory)
    write_marker(directory)
    atomic_write_text(directory / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))


def in_folder(exc: OSError, directory: Path) -> bool:
    """Whether ``exc`` is about a file in the run directory."""
    if not exc.filename:
        return False
    try:
        return directory.resolve() in Path(str(exc.filename)).resolve().parents
    except (OSError, RuntimeError):
        return False


def write_run(run: Run, directory: Path, *, keep_checkpoint: bool = False) -> None:
    """Write the bundle, then ``metrics.json`` (its presence says the run finished), then
    remove the checkpoint (or keep it as ``last_checkpoint.json``)."""
    try:
        run.save(directory)
    except OSError as exc:
        raise os_error(exc, directory, "write the run") from None
    atomic_write_text(
        directory / "metrics.json", json.dumps(json_safe(run.metrics), indent=2, allow_nan=False)
    )
    # after metrics.json, so that a run killed before it can still be resumed
    checkpoint = directory / "checkpoint.json"
    try:
        if keep_checkpoint and checkpoint.exists():  # kept for inspection; not resumed
            checkpoint.replace(directory / "last_checkpoint.json")
        elif not keep_checkpoint:
            remove_checkpoint(directory)
    except OSError as exc:
        raise os_error(exc, directory, "remove the finished run's checkpoint") from None


def open_run_dir(
    directory: Path,
    config: RunConfig,
    events: Events,
    model: MTLModel,
    encoded: Encoded,
    *,
    overwrite: bool,
) -> None:
    """Prepare the run directory and attach the handlers that write into it while training."""
    prepare_output(directory, config, overwrite=overwrite)
    attach_history(events, directory / "history.csv")
    attach_tensorboard(events, directory)
    every = config.train.relations_every
    if every:
        attach_relations(events, directory, model, encoded.train, encoded.pre, every)
    if config.train.affinity_every:
        attach_affinity(
            events, directory, model, encoded.train, encoded.pre.fitted_tasks, config.train
        )
