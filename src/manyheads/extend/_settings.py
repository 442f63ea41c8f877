"""The settings of ``add-task`` training: :class:`AddTaskSettings` and how ``key=value`` overrides
become one (documented in ``docs/shipping.md``, "Adding a task")."""

from __future__ import annotations

import dataclasses
from typing import Any

from manyheads.errors import InvalidParameterError
from manyheads.tasks.task import Task

__all__ = ["UNFREEZE", "AddTaskSettings", "settings_of"]

#: What ``--unfreeze`` trains besides the new task: nothing, the old heads, or every parameter.
UNFREEZE: tuple[str, ...] = ("none", "heads", "all")


@dataclasses.dataclass(frozen=True)
class AddTaskSettings:
    """How the new task (and, with ``unfreeze``, the old parts) is trained.

    Args:
        epochs: passes over the new data.
        batch_size: rows per batch.
        lr: Adam's learning rate.
        weight_decay: Adam's weight decay.
        seed: draws the new parameters and the batches.
        patience: epochs without a better validation metric of the new task before stopping
            (None: never stop early). The best epoch's weights are kept.
        temperature: the distillation temperature ``T`` of Learning without Forgetting
            (Li & Hoiem 2016; they use T = 2).
        distill_weight: the weight ``lambda_o`` of the distillation loss of the old tasks.
        warmup_epochs: LwF's warm-up: the first epochs train only the new task's parameters.

    Raises:
        InvalidParameterError: a setting out of range, naming it.

    Example:
        >>> AddTaskSettings(epochs=0)
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'epochs' setting of add-task must be an \
int >= 1. Got 0 instead.
    """

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    patience: int | None = 3
    temperature: float = 2.0
    distill_weight: float = 1.0
    warmup_epochs: int = 1

    def __post_init__(self) -> None:
        for name, low in (("epochs", 1), ("batch_size", 1), ("warmup_epochs", 0), ("seed", 0)):
            _check_int(name, getattr(self, name), low)
        if self.patience is not None:
            _check_int("patience", self.patience, 1)
        for name, positive in (
            ("lr", True),
            ("temperature", True),
            ("weight_decay", False),
            ("distill_weight", False),
        ):
            _check_float(name, getattr(self, name), positive)


def _check_int(name: str, value: object, low: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InvalidParameterError(
            f"The '{name}' setting of add-task must be an int >= {low}. Got {value!r} instead."
        )


def _check_float(name: str, value: object, positive: bool) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    ok = ok and value == value and abs(float(value)) != float("inf")  # type: ignore[arg-type]
    if not ok or (float(value) <= 0 if positive else float(value) < 0):  # type: ignore[arg-type]
        want = "(0, inf)" if positive else "[0, inf)"
        raise InvalidParameterError(
            f"The '{name}' setting of add-task must be a float in {want}. Got {value!r} instead."
        )


def settings_of(settings: dict[str, Any]) -> AddTaskSettings:
    """The :class:`AddTaskSettings` of keyword settings; an unknown one is refused with the
    closest name and the valid ones.

    Example:
        >>> settings_of({"epochs": 2}).epochs
        2
    """
    fields = [f.name for f in dataclasses.fields(AddTaskSettings)]
    unknown = [k for k in settings if k not in fields]
    if unknown:
        from manyheads._registry import did_you_mean

        raise InvalidParameterError(
            f"Unknown add-task setting(s) {unknown}.{did_you_mean(unknown[0], fields)} "
            f"Valid: {', '.join(fields)}."
        )
    return AddTaskSettings(**settings)


def new_task(name: str | Task, type: str | None) -> Task:
    """The task :meth:`Run.add_task` adds: ``name`` itself when it is a :class:`Task`.

    Raises:
        InvalidParameterError: a ``type`` that is not the given task's.

    Example:
        >>> new_task("z", "regression").type
        'regression'
    """
    if not isinstance(name, Task):
        return Task(name, type=str(type))
    if type is not None and type != name.type:
        raise InvalidParameterError(
            f"The 'type' argument of add_task is {type!r} but the task '{name.name}' "
            f"has type {name.type!r}. Pass type=None with a Task."
        )
    return name
