"""Teachers of a distilled run: where they come from, the checks they pass, and their outputs.

A teacher is a finished run (or a loaded :class:`~manyheads.Run`) with a task of the same name
and type as the student's task; its classes (tags, labels) must be the student's, in the same
order, so that the soft distributions line up. A ``compare`` directory gives each task its
``stl`` run.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError, DataError
from manyheads.tasks._fitted import FittedTask
from manyheads.tasks.task import Task
from manyheads.workflow._bundle_weights import bundle_weights_sha256
from manyheads.workflow._run import Run, load

__all__ = [
    "CLASS_KEYS",
    "Teacher",
    "class_problems",
    "compare_teachers",
    "load_teachers",
    "name_problems",
    "weights_sha256",
]

#: The state key that lists a class task type's classes, in head order.
CLASS_KEYS = {
    "binary": "classes",
    "multiclass": "classes",
    "multilabel": "labels",
    "tagging": "tags",
}


@dataclass(frozen=True)
class Teacher:
    """One task's teacher.

    Args:
        task: the student's task it teaches (the teacher run's task of the same name).
        source: where it came from (its run directory, or ``<Run>``), as error messages name it.
        run: the loaded teacher run.
    """

    task: str
    source: str
    run: Run

    def fitted(self) -> FittedTask | None:
        """The teacher run's fitted task of the same name, or None."""
        return next((t for t in self.run.fitted_tasks if t.name == self.task), None)


def _load(task: str, where: str | Path | Run) -> Teacher:
    if isinstance(where, Run):
        source = str(where.directory) if where.directory is not None else "<Run>"
        return Teacher(task, source, where)
    try:
        run = load(where)
    except DataError as exc:
        raise ConfigError([f"teacher '{where}' for task '{task}': {exc}"]) from None
    return Teacher(task, str(where), run)


def compare_teachers(directory: str | Path, seed: int) -> dict[str, str]:
    """Each task of the ``stl`` run of a ``compare`` directory -> that run's directory (the run
    of ``seed`` when the comparison trained it, else its lowest seed).

    Raises:
        ConfigError: the directory holds no finished ``stl`` run.
    """
    folder = Path(directory)
    runs = sorted(
        (p for p in folder.glob("stl-*-seed*") if (p / "metrics.json").is_file()),
        key=lambda p: (p.name.rpartition("seed")[2] != str(seed), _seed_of(p)),
    )
    if not runs:
        raise ConfigError(
            [
                f"--from-compare '{folder}': no finished stl run (stl-ew-seed<N>/metrics.json) "
                "in it. Point it at a folder written by `manyheads compare`, or pass each "
                "teacher with --teacher TASK=RUN."
            ]
        )
    tasks = load(runs[0]).tasks
    return {t.name: str(runs[0]) for t in tasks}


def _seed_of(path: Path) -> int:
    tail = path.name.rpartition("seed")[2]
    return int(tail) if tail.isdigit() else 1 << 30


def load_teachers(teachers: Mapping[str, str | Path | Run]) -> list[Teacher]:
    """Load every teacher run once (a ``compare`` folder's stl run teaches every task; a
    ConfigError names a run that cannot be read)."""
    loaded: dict[str, Teacher] = {}
    out = []
    for task, where in teachers.items():
        key = str(where) if not isinstance(where, Run) else f"<Run {id(where)}>"
        if key not in loaded:
            loaded[key] = _load(task, where)
        out.append(dataclasses.replace(loaded[key], task=task))
    return out


def name_problems(teachers: Sequence[Teacher], tasks: Sequence[Task]) -> list[str]:
    """What refuses a teacher before any data is read: its task is not a task of the student,
    the teacher run has no such task, or the task types differ (one line each)."""
    student = {t.name: t for t in tasks}
    problems = []
    for teacher in teachers:
        head = f"teacher '{teacher.source}' for task '{teacher.task}'"
        if teacher.task not in student:
            names = sorted(student)
            problems.append(
                f"{head}: the student config has no task '{teacher.task}'."
                f"{did_you_mean(teacher.task, names)} Its tasks: {', '.join(names)}."
            )
            continue
        own = next((t for t in teacher.run.tasks if t.name == teacher.task), None)
        if own is None:
            problems.append(
                f"{head}: the teacher run has no task '{teacher.task}' (its tasks: "
                f"{', '.join(t.name for t in teacher.run.tasks)}). Pass a run trained on it."
            )
        elif own.type != student[teacher.task].type:
            problems.append(
                f"{head}: the teacher's task is {own.type}, the student's is "
                f"{student[teacher.task].type}. A teacher must have the student's task type."
            )
    return problems


def class_problems(teachers: Sequence[Teacher], fitted: Sequence[FittedTask]) -> list[str]:
    """What refuses a teacher once the student's labels are fitted: other classes (tags,
    labels), or the same ones in another order (one line each)."""
    student = {t.name: t for t in fitted}
    problems = []
    for teacher in teachers:
        own, mine = teacher.fitted(), student[teacher.task]
        key = CLASS_KEYS.get(mine.task.type)
        if own is None or key is None or own.state[key] == mine.state[key]:
            continue
        problems.append(
            f"teacher '{teacher.source}' for task '{teacher.task}': its {key} "
            f"{_short(own.state[key])} differ from the student's {_short(mine.state[key])} "
            "(learnt from the student's training rows). Train the teacher on the same labels."
        )
    return problems


def _short(values: list[Any]) -> str:
    return str(values) if len(values) <= 12 else f"{values[:12]}[... {len(values)} in all]"


def weights_sha256(run: Run) -> str:
    """SHA-256 of the teacher's ``model.safetensors`` when it has a run directory, else of its
    weights in state-dict order (name, dtype, shape, bytes)."""
    on_disk = bundle_weights_sha256(run.directory)
    if on_disk is not None:
        return on_disk
    digest = hashlib.sha256()
    for name, tensor in run.model.state_dict().items():
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
