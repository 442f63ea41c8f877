"""``distill``: train one multi-task student on single-task teachers' outputs (BAM!).

The student is an ordinary run (its config, its data, any architecture and balancing method);
:class:`Distiller` is the :class:`~manyheads.workflow._fit.TrainHook` that swaps each taught
task's training target for its teacher's cached output packed with the gold label
(:mod:`manyheads.distill._targets`) and its loss for BAM!'s annealed mix
(:mod:`manyheads.distill._losses`), and writes ``distill.json`` into the run directory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from manyheads._files import atomic_write_text
from manyheads.config.schema import RunConfig
from manyheads.distill._annealing import Annealing
from manyheads.distill._losses import DistilledTask, fit_width
from manyheads.distill._targets import Predictions, TeacherOutput, pack_table, teacher_output
from manyheads.distill._teachers import (
    Teacher,
    class_problems,
    compare_teachers,
    load_teachers,
    name_problems,
    weights_sha256,
)
from manyheads.engine import TrainInputs
from manyheads.engine.events import Events
from manyheads.errors import ConfigError, InvalidParameterError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks._tagging import split_output
from manyheads.workflow._builders import Log
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._fit import Run, RunOptions, json_safe, run_config
from manyheads.workflow._output import check_run_output
from manyheads.workflow._splits import Splits, load_splits

__all__ = ["DISTILL_FILE", "Distiller", "distill"]

#: What a distilled run records about its teachers and the annealing, in its run directory.
DISTILL_FILE = "distill.json"


class Distiller:
    """Train on the teachers' outputs (BAM! teacher annealing); see :func:`distill`.

    Args:
        teachers: one per taught task (checked by name and type already).
        temperature: T of the teachers' soft distributions.
        anneal: False keeps λ at 0 (teachers only where they cover a row).
    """

    def __init__(self, teachers: Sequence[Teacher], *, temperature: float, anneal: bool) -> None:
        self.teachers = list(teachers)
        self.temperature = temperature
        self.annealing = Annealing(anneal=anneal)
        self.teacher_valid: dict[str, dict[str, float]] = {}

    def train_inputs(self, config: RunConfig, splits: Splits, encoded: Encoded) -> TrainInputs:
        """The student's training rows with the teachers' outputs packed in (computed once
        here, on the train and valid rows), and the taught tasks' BAM! losses."""
        fitted = encoded.pre.fitted(config.tasks)
        problems = class_problems(self.teachers, fitted)
        if problems:
            raise ConfigError(problems)
        by_name = {t.name: t for t in fitted}
        train: dict[str, TeacherOutput] = {}
        cache: Predictions = {}
        for teacher in self.teachers:
            student = by_name[teacher.task]
            train[teacher.task] = teacher_output(
                teacher, splits.train, student, encoded.train, cache
            )
            valid = teacher_output(teacher, splits.valid, student, encoded.valid, cache)
            self.teacher_valid[teacher.task] = _teacher_score(teacher, student, valid, encoded)
        tasks = [self._taught(t, encoded) if t.name in train else t for t in fitted]
        packed = pack_table(encoded.train, train)
        return TrainInputs(packed, encoded.valid, fitted, train_tasks=tasks)

    def _taught(self, task: FittedTask, encoded: Encoded) -> DistilledTask:
        gold = encoded.train.y[task.name]
        width = gold.shape[-1] if task.task.type in ("multilabel", "box") else 1
        return DistilledTask(
            task.task, task.state, width, gold.dtype, self.temperature, self.annealing
        )

    def attach(self, events: Events, directory: Path | None) -> None:
        """Anneal λ with the loop; write ``distill.json`` when training starts."""
        self.annealing.attach(events)
        if directory is not None:
            events.connect("train_start", lambda **_: self._write(directory))

    def record(self) -> dict[str, Any]:
        """What ``distill.json`` holds: the teachers and the annealing settings."""
        return {
            "method": "BAM! teacher annealing (Clark et al., ACL 2019)",
            "teachers": {
                t.task: {
                    "path": t.source,
                    "architecture": t.run.architecture,
                    "weights_sha256": weights_sha256(t.run),
                    "valid_on_student_rows": self.teacher_valid.get(t.task),
                }
                for t in self.teachers
            },
            "annealing": {
                "schedule": "linear" if self.annealing.anneal else "none",
                "lambda": "gold weight, 0 -> 1 per optimiser step"
                if self.annealing.anneal
                else "0 (teachers only)",
                "total_steps": self.annealing.total_steps,
                "temperature": self.temperature,
                "soft_loss": "cross-entropy of softmax/sigmoid(student/T) against the teacher's, "
                "times T^2 (class types; tagging per token, a CRF head by its forward-backward "
                "marginals); regression and box mix the target",
                "unlabelled_rows": "teacher only",
            },
        }

    def _write(self, directory: Path) -> None:
        text = json.dumps(json_safe(self.record()), indent=2, allow_nan=False)
        atomic_write_text(directory / DISTILL_FILE, text)


def _teacher_score(
    teacher: Teacher, student: FittedTask, out: TeacherOutput, encoded: Encoded
) -> dict[str, float]:
    """The teacher's metrics on the student's validation rows and labels."""
    y, mask = encoded.valid.y[student.name], encoded.valid.mask[student.name]
    if student.task.type == "regression":  # the output is on the student's scale already
        return student.score(out.target, y, mask)
    if student.task.type == "tagging":  # the teacher's own decoding (its CRF, if any)
        own = teacher.fitted()
        assert own is not None
        width = split_output(out.raw, crf=own.task.crf)[0].shape[1]
        return own.score(out.raw, fit_width(y, width), fit_width(mask, width))
    own = teacher.fitted()
    assert own is not None
    return own.score(out.raw, y, mask)


def _check_temperature(temperature: float) -> None:
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise InvalidParameterError(
            f"The 'temperature' parameter of distill must be a float in (0, inf). "
            f"Got {temperature!r} instead."
        )
    if not 0 < temperature < float("inf"):
        raise InvalidParameterError(
            f"The 'temperature' parameter of distill must be a float in (0, inf). "
            f"Got {temperature!r} instead."
        )


def _teacher_map(
    config: RunConfig,
    teachers: Mapping[str, str | Path | Run] | None,
    from_compare: str | Path | None,
) -> dict[str, str | Path | Run]:
    chosen: dict[str, str | Path | Run] = {}
    if from_compare is not None:
        chosen.update(compare_teachers(from_compare, config.train.seed))
    chosen.update(teachers or {})
    if not chosen:
        raise ConfigError(
            [
                "distill needs at least one teacher: pass --teacher TASK=RUN (teachers={...}) "
                "or --from-compare DIR (from_compare=...)."
            ]
        )
    return chosen


def distill(  # noqa: PLR0913 - the public entry point: one keyword per setting
    config: RunConfig | str | Path,
    /,
    *,
    teachers: Mapping[str, str | Path | Run] | None = None,
    from_compare: str | Path | None = None,
    overrides: Sequence[str] = (),
    splits: Splits | None = None,
    temperature: float = 1.0,
    anneal: bool = True,
    quiet: bool = True,
    overwrite: bool = False,
    log: Log | None = None,
    protect: Sequence[str | Path] = (),
) -> Run:
    """Train one multi-task student of ``config`` on single-task teachers (BAM!).

    Each taught task's target moves linearly, per optimiser step, from the teacher's output to
    the gold label (Clark et al., ACL 2019: teacher annealing); a row without a gold label for a
    task learns from the teacher alone. The teachers predict the student's train and valid rows
    once, each through its own bundle's preprocessing. Tasks without a teacher train as usual;
    the architecture and balancing method are the config's. ``distill.json`` in the run
    directory records the teachers (paths, weights' SHA-256, their validation scores on the
    student's rows) and the annealing settings.

    Args:
        config: the student's run configuration (its data, tasks, model, ``output``), or the
            path of its YAML file.
        teachers: task -> a teacher run directory, bundle or :class:`Run` with that task.
        from_compare: a ``manyheads compare`` folder: its ``stl`` run (of the config's seed
            if trained, else its lowest seed) teaches every task; ``teachers`` override it.
        overrides: ``key=value`` settings over the config file (``train.epochs=3``).
        splits: the train/valid(/test) frames, instead of reading ``config.data``.
        temperature: T of the soft distributions; the soft loss is scaled by ``T²``.
        anneal: False keeps the teachers' weight at 1 (λ = 0) throughout.
        quiet: no progress output.
        overwrite: replace a finished run in ``config.output``.
        log: where to say what the run decided.
        protect: files the output folder must not hold (the config file).

    Raises:
        ConfigError: no teacher; a teacher's task is not the student's, its type differs or
            its classes differ (each problem names the teacher and task).
        InvalidParameterError: a bad ``temperature``, or ``data.sources`` (multi-source).

    Example:
        >>> import tempfile, manyheads as mh, numpy as np, pandas as pd
        >>> from manyheads.config.schema import DataConfig, RunConfig
        >>> train = Path(tempfile.mkdtemp()) / "train.csv"
        >>> df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=300)})
        >>> df["y"], df["z"] = (df.x > 0).astype(int), df.x * 2.0
        >>> df.to_csv(train, index=False)
        >>> tasks = (mh.Task("y", type="binary"), mh.Task("z", type="regression"))
        >>> teacher = mh.fit(train, tasks=tasks, architecture="stl", epochs=1)
        >>> config = RunConfig(DataConfig(train=str(train)), tasks, output=None)
        >>> student = distill(config, teachers={"y": teacher, "z": teacher})
        >>> sorted(student.metrics["tasks"])
        ['y', 'z']
    """
    _check_temperature(temperature)
    if not isinstance(config, RunConfig):
        from manyheads.config.load import load_config

        config = load_config(config, list(overrides))
    options = RunOptions(quiet=quiet, overwrite=overwrite, log=log, protect=tuple(protect))
    if config.data.sources:
        raise InvalidParameterError(
            "distill trains on one table: the teachers' outputs are cached per row, and "
            "data.sources stacks several. Build one table with every task's columns."
        )
    check_run_output(config, resume=False, overwrite=overwrite, protect=options.protect)
    loaded = load_teachers(_teacher_map(config, teachers, from_compare))
    if config.tasks:
        _refuse(name_problems(loaded, config.tasks))
    if splits is None:
        splits, config = load_splits(config)
    _refuse(name_problems(loaded, config.tasks))
    hook = Distiller(loaded, temperature=temperature, anneal=anneal)
    for teacher in loaded:
        options.say(f"teacher of {teacher.task}: {teacher.source} ({teacher.run.architecture})")
    return run_config(config, splits, options, hook=hook)


def _refuse(problems: list[str]) -> None:
    if problems:
        raise ConfigError(problems)
