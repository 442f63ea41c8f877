"""The :class:`Task` specification: a frozen description of one prediction target."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from manyheads.errors import InvalidParameterError

__all__ = ["Task"]


@dataclass(frozen=True)
class Task:
    """One prediction target of a multi-task model.

    Args:
        name: the task's name; also the label column unless ``column``/``columns`` is given.
        type: ``binary``, ``multiclass``, ``multilabel``, ``regression``, ``tagging`` or ``box``
            (``manyheads ls tasks``).
        column: the label column (defaults to ``name``).
        columns: the label columns of a ``multilabel`` task, one 0/1 column per label.
        weight: the static weight of this task's loss (used by the ``static`` weighting).
        metrics: metrics to report; the first is the primary one. ``None`` uses the type's defaults.
        loss: ``mse`` or ``huber`` for regression; ``None`` uses the type's default.
        label_smoothing: label smoothing of a multiclass cross-entropy, in [0, 1).
        class_weight: ``"balanced"`` weighs multiclass/binary classes by inverse train frequency.
        positive: the positive class of a binary task; ``None`` takes the larger of the two labels.
        scheme: the tag scheme of a ``tagging`` task: ``bio``, ``bioes`` (entity-level metrics)
            or ``none`` (tags such as POS, token accuracy only).
        crf: a ``tagging`` task decodes with a linear-chain CRF output layer.
        image_size: ``(width, height)`` in pixels of the images of a ``box`` task, so that
            predicted boxes are also written in pixel coordinates.
        threshold: the probability from which a ``multilabel`` label is predicted, in (0, 1);
            ``None`` chooses one per label on the validation rows after training (the one with
            the best F1 of that label) when a reported metric needs a threshold (F1), else 0.5.

    Example:
        >>> Task("income", type="binary").label_columns
        ('income',)
        >>> Task("genres", type="multilabel", columns=["Action", "Drama"]).label_columns
        ('Action', 'Drama')
    """

    name: str
    type: str
    column: str | None = None
    columns: tuple[str, ...] | None = None
    weight: float = 1.0
    metrics: tuple[str, ...] | None = None
    loss: str | None = None
    label_smoothing: float = 0.0
    class_weight: str | None = None
    positive: str | None = None
    scheme: str | None = None
    crf: bool = False
    image_size: tuple[int, int] | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameterError(
                f"The 'name' of a Task must be a non-empty string. Got {self.name!r}."
            )
        self._normalise()
        from manyheads.tasks._registry import get_task_type

        task_type = get_task_type(self.type)  # raises with the valid names
        task_type.check_task(self)
        number = isinstance(self.weight, int | float) and not isinstance(self.weight, bool)
        if not (number and math.isfinite(self.weight) and self.weight >= 0):
            raise InvalidParameterError(
                f"The 'weight' of task '{self.name}' must be a finite number >= 0. "
                f"Got {self.weight!r}."
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise InvalidParameterError(
                f"The 'label_smoothing' of task '{self.name}' must be in [0, 1). "
                f"Got {self.label_smoothing!r}."
            )
        if self.threshold is not None and not (
            isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0
        ):
            raise InvalidParameterError(
                f"The 'threshold' of task '{self.name}' must be a number in (0, 1), or left out to "
                f"choose one per label on the validation rows. Got {self.threshold!r}."
            )
        if self.class_weight not in (None, "balanced"):
            raise InvalidParameterError(
                f"The 'class_weight' of task '{self.name}' must be 'balanced' or None. "
                f"Got {self.class_weight!r}."
            )

    def _normalise(self) -> None:
        """Sequences as tuples, the label column defaulting to the name, ``positive`` as the
        label string it must match."""
        if isinstance(self.columns, Sequence) and not isinstance(self.columns, tuple):
            object.__setattr__(self, "columns", tuple(self.columns))
        if self.column is None and self.columns is None:
            object.__setattr__(self, "column", self.name)  # the label column defaults to the name
        if isinstance(self.metrics, Sequence) and not isinstance(self.metrics, tuple):
            object.__setattr__(self, "metrics", tuple(self.metrics))
        if isinstance(self.image_size, Sequence) and not isinstance(self.image_size, tuple):
            object.__setattr__(self, "image_size", tuple(self.image_size))
        if self.positive is not None and not isinstance(self.positive, str):
            from manyheads.tasks._labels import label_string

            # `positive: 1` in YAML is an int; the labels are compared as the strings the
            # column's cells become ('1', also for 1.0), so the positive class is one of them
            object.__setattr__(self, "positive", label_string(self.positive))

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The data columns that hold this task's labels."""
        if self.columns is not None:
            return self.columns
        return (self.column if self.column is not None else self.name,)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict that :meth:`from_dict` turns back into an equal task."""
        out: dict[str, object] = {"name": self.name, "type": self.type, "weight": self.weight}
        if self.columns is not None:
            out["columns"] = list(self.columns)
        else:
            out["column"] = self.label_columns[0]
        for key in ("loss", "class_weight", "positive", "scheme"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.metrics is not None:
            out["metrics"] = list(self.metrics)
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        if self.crf:
            out["crf"] = True
        if self.image_size is not None:
            out["image_size"] = list(self.image_size)
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Task:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)  # type: ignore[arg-type]
