"""The searched keys: a :class:`Dimension` per config key (its distribution, drawn for a trial)
and the :class:`SearchSpace` that holds them in the order they are drawn."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna

__all__ = ["Dimension", "SearchSpace", "choice_label"]


@dataclass(frozen=True)
class Dimension:
    """One searched config key and its distribution.

    Args:
        key: the dotted config key (``train.lr``, ``tasks.income.weight``).
        kind: ``float``, ``int`` or ``categorical``.
        low: the smallest value (``float``/``int``).
        high: the largest value (``float``/``int``).
        log: sample on a log scale.
        step: the grid step (``float``/``int``).
        choices: the values of a ``categorical``.
        when: earlier key -> the values of it for which this key is sampled.
    """

    key: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] = ()
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def corners(self) -> list[Any]:
        """The values that :func:`check_space` tries: both ends, or every choice."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]

    def suggest(self, trial: optuna.Trial) -> Any:  # noqa: ANN401 - a YAML value
        """Draw this key's value for ``trial`` (a categorical list or mapping as JSON text)."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log, step=self.step)
        if self.kind == "int":
            step = int(self.step) if self.step is not None else 1
            return trial.suggest_int(
                self.key, int(self.low), int(self.high), log=self.log, step=step
            )
        labels = [choice_label(c) for c in self.choices]
        label = trial.suggest_categorical(self.key, labels)
        return self.choices[labels.index(label)]

    def applies(self, values: dict[str, Any]) -> bool:
        """Whether ``when`` holds for the values drawn so far."""
        return all(values.get(k, _MISSING) in allowed for k, allowed in self.when.items())


_MISSING = object()


def choice_label(value: object) -> Any:  # noqa: ANN401 - an Optuna categorical choice
    """A categorical choice as Optuna stores it: scalars as they are, lists and mappings as JSON.

    Example:
        >>> choice_label([128, 64]), choice_label("mmoe")
        ('[128, 64]', 'mmoe')
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value)


@dataclass(frozen=True)
class SearchSpace:
    """The searched keys, in the order they are drawn, and the file they came from."""

    dimensions: tuple[Dimension, ...]
    source: str = "<space>"

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Draw every applicable key for ``trial``; returns key -> config value."""
        values: dict[str, Any] = {}
        for dim in self.dimensions:
            if dim.applies(values):
                values[dim.key] = dim.suggest(trial)
        return values

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """Optuna's stored ``params`` of a trial back to config values (JSON text to lists)."""
        out = {}
        for dim in self.dimensions:
            if dim.key not in params:
                continue
            value = params[dim.key]
            if dim.kind == "categorical":
                labels = [choice_label(c) for c in dim.choices]
                value = dim.choices[labels.index(value)] if value in labels else value
            out[dim.key] = value
        return out
