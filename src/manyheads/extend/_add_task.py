"""``add_task``: a trained run -> a new run with one more task (``manyheads add-task``,
``Run.add_task``). Checks -> data -> grown model -> training -> report -> a fresh run folder.

Nothing is written before every check has passed and the training has finished; the new run
goes into a folder of its own (never into the source run), marker first, ``metrics.json`` last.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml

from manyheads._files import (
    atomic_write_text,
    check_output_dir,
    clear_owned,
    os_error,
    write_marker,
)
from manyheads.architectures._registry import build_model
from manyheads.architectures.base import MTLModel
from manyheads.data.preprocess import TablePreprocessor
from manyheads.errors import InvalidParameterError
from manyheads.extend._data import check_new_data, check_new_task, encode_new, with_task
from manyheads.extend._grow import changed_outputs, grow_model, grown_options
from manyheads.extend._lineage import lineage
from manyheads.extend._lwf import teacher_outputs
from manyheads.extend._report import backward_transfer, labelled_tasks, score_tasks
from manyheads.extend._settings import UNFREEZE, AddTaskSettings
from manyheads.extend._train import TrainedTask, train_new_task
from manyheads.tasks._fitted import fit_task
from manyheads.tasks.task import Task
from manyheads.workflow._run import Data, Run, as_frame, json_safe, task_metrics
from manyheads.workflow._tuning import tune_on_valid

__all__ = ["NewData", "add_task", "source_test"]

#: Rows checked bit for bit right after the model is grown (old vs grown, old tasks).
_CHECK_ROWS = 256


@dataclasses.dataclass(frozen=True)
class NewData:
    """The rows of the new task: ``train`` (with its labels), optional ``valid`` (default: 10%
    of ``train``, seeded) and ``test`` (default: the source run's test split, if it is known)."""

    train: Data
    valid: Data | None = None
    test: Data | None = None


def source_test(run: Run) -> Path | None:
    """The source run's test file, from the ``config.yaml`` of its folder (None if unknown)."""
    if run.directory is None or not (run.directory / "config.yaml").is_file():
        return None
    try:
        config = yaml.safe_load((run.directory / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    data = config.get("data") if isinstance(config, dict) else None
    test = data.get("test") if isinstance(data, dict) else None
    if not isinstance(test, str) or "://" in test or not Path(test).is_file():
        return None
    return Path(test)


def _frames(data: NewData, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    train = as_frame(data.train)
    if data.valid is not None:
        return train, as_frame(data.valid)
    from manyheads.workflow._splits import split_frame

    return split_frame(train, 0.1, seed=seed)


def _check_output(
    output: str | Path | None, run: Run, data: NewData, overwrite: bool
) -> Path | None:
    """The new run's folder, refused before anything is read (see :func:`check_output_dir`);
    the source run's folder and the data files are protected."""
    if output is None:
        return None
    protect = [p for p in (data.train, data.valid, data.test) if isinstance(p, str | Path)]
    if run.directory is not None:
        if Path(output).resolve() == run.directory.resolve():
            raise InvalidParameterError(
                f"The output folder '{output}' is the source run: add-task writes the grown "
                "model as a new run and never into the run it reads. Pass another -o."
            )
        protect.append(run.directory / "model.json")
    directory = check_output_dir(output, protect=protect)
    if (directory / "metrics.json").exists() and not overwrite:
        raise InvalidParameterError(
            f"The output directory '{directory}' already holds a finished run. Choose another "
            "output (-o), or pass --overwrite to replace it."
        )
    return directory


def add_task(
    run: Run,
    task: Task,
    data: NewData,
    *,
    unfreeze: str = "none",
    settings: AddTaskSettings,
    output: str | Path | None = None,
    overwrite: bool = False,
    log: Callable[[str], None] | None = None,
) -> Run:
    """Add ``task`` to ``run``'s model, train it on ``data`` and return the new :class:`Run`
    (written into ``output`` when given). See :meth:`Run.add_task`."""
    say = log or (lambda _message: None)
    if unfreeze not in UNFREEZE:
        raise InvalidParameterError(
            f"The 'unfreeze' setting of add-task must be one of {', '.join(UNFREEZE)}. "
            f"Got {unfreeze!r} instead."
        )
    check_new_task(task, run.tasks, run.preprocessor.inputs)
    directory = _check_output(output, run, data, overwrite)
    train_frame, valid_frame = _frames(data, settings.seed)
    for frame in (train_frame, valid_frame):
        check_new_data(frame, task, run.preprocessor.inputs)
    fitted = fit_task(task, train_frame, str(train_frame.attrs.get("path", "<data>")))
    pre = with_task(run.preprocessor, fitted)
    train_t, valid_t = (encode_new(pre, f, [fitted]) for f in (train_frame, valid_frame))
    say(f"new task '{task.name}': {train_t.n_rows} training rows, {valid_t.n_rows} validation rows")
    sample = train_t.take(torch.arange(min(_CHECK_ROWS, train_t.n_rows))).x
    model, options = _grown_model(run, pre, task, sample, settings.seed)
    teacher = teacher_outputs(run.model, train_t) if unfreeze != "none" else None
    trained = train_new_task(
        model,
        task=pre.fitted([task])[0],
        old=run.fitted_tasks,
        train=train_t,
        valid=valid_t,
        teacher=teacher,
        unfreeze=unfreeze,
        settings=settings,
    )
    # an internal invariant: with nothing unfrozen, no old weight or statistic moved
    assert unfreeze != "none" or not changed_outputs(run.model, model, sample)
    grown = Run(
        model,
        [*run.tasks, task],
        tune_on_valid(model, pre, [task], valid_t),  # the new task only: old states stay
        architecture=run.architecture,
        options=options,
        history=trained.history,
        directory=directory,
        lineage=lineage(run.directory, task, unfreeze, settings, run.lineage),
    )
    grown.metrics = _report(run, grown, data, valid_frame, trained, say)
    if directory is not None:
        _write(grown, directory, overwrite=overwrite)
        say(f"wrote {directory}")
    return grown


def _grown_model(
    run: Run, pre: TablePreprocessor, task: Task, sample: dict[str, torch.Tensor], seed: int
) -> tuple[MTLModel, dict[str, Any]]:
    """``run``'s architecture built with ``task`` appended (its parameters drawn from ``seed``),
    every old weight copied, and its old outputs checked bit for bit on ``sample``."""
    options = grown_options(run.options, task.name, task.type)
    torch.manual_seed(seed)
    model = build_model(run.architecture, pre.spec, pre.fitted([*run.tasks, task]), options)
    model = grow_model(run.model, model, task.name, architecture=run.architecture)
    moved = changed_outputs(run.model, model, sample)
    if moved:
        raise InvalidParameterError(
            f"Cannot add task '{task.name}' to a '{run.architecture}' model: with the new task "
            f"the outputs of {', '.join(moved)} change although no weight moved (the "
            "architecture's shared computation depends on the set of tasks). Train a new run "
            "with all the tasks instead (manyheads train)."
        )
    return model, options


def _report(
    source: Run,
    grown: Run,
    data: NewData,
    valid_frame: pd.DataFrame,
    trained: TrainedTask,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """``metrics.json`` of the new run: the scored split's metrics of every task labelled in
    it, and the add-task report (validation metric, backward transfer of the old tasks)."""
    new = grown.fitted_tasks[-1]
    test = data.test if data.test is not None else source_test(source)
    frame = as_frame(test) if test is not None else valid_frame
    split = "test" if test is not None else "valid"
    old = labelled_tasks(frame, source.fitted_tasks)
    scored = labelled_tasks(frame, grown.fitted_tasks)
    after = score_tasks(grown.model, grown.preprocessor, frame, scored)
    before = score_tasks(source.model, source.preprocessor, frame, old) if old else {}
    transfer = backward_transfer(before, after, old)
    for name, row in transfer.items():
        say(
            f"{name}: {row['primary']} {row['before']:.4f} -> {row['after']:.4f} "
            f"({row['change']:+.4f}) on the {split} rows"
        )
    valid = score_tasks(grown.model, grown.preprocessor, valid_frame, [new])
    primary = new.task_type.metric_names(new.task)[0]
    say(f"{new.name}: {primary} {valid[new.name][primary]:.4f} on the validation rows")
    return {
        "split": split,
        "architecture": grown.architecture,
        "n_parameters": grown.n_parameters,
        "best_epoch": trained.best_epoch,
        "train_seconds": trained.train_seconds,
        "tasks": task_metrics([t.task for t in scored], after),
        "valid": {"tasks": task_metrics([new.task], valid)},
        "add_task": {
            "task": new.name,
            "unfreeze": (grown.lineage or {}).get("unfreeze"),
            "scored_on": str(frame.attrs.get("path", "<DataFrame>")),
            "backward_transfer": transfer,
        },
    }


def _write(run: Run, directory: Path, *, overwrite: bool) -> None:
    """Marker first, then the bundle, ``history.csv``, and ``metrics.json`` last."""
    try:
        if overwrite:
            clear_owned(directory)
        write_marker(directory)
        run.save(directory)
        history = pd.DataFrame(run.history).to_csv(index=False)
        atomic_write_text(directory / "history.csv", history)
        text = json.dumps(json_safe(run.metrics), indent=2, allow_nan=False)
        atomic_write_text(directory / "metrics.json", text)
    except OSError as exc:
        raise os_error(exc, directory, "write the new run") from None
