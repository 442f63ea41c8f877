"""How a run treats its output folder and where it reports (:class:`RunOptions`), and the hook a
workflow built on :func:`~manyheads.workflow._fit.run_config` changes the training with
(:class:`TrainHook`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Protocol

from manyheads.config.schema import RunConfig
from manyheads.engine import TrainInputs
from manyheads.engine.events import Events
from manyheads.workflow._builders import Log
from manyheads.workflow._encoding import Encoded
from manyheads.workflow._splits import Splits

__all__ = ["RunOptions", "TrainHook"]


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How :func:`run_config` treats the output folder, and where it reports.

    Args:
        quiet: no progress output.
        resume: continue the unfinished run in ``config.output`` from its checkpoint.
        overwrite: replace the run in ``config.output``.
        log: where to say what the run decided (inferred inputs, defaults, its length).
        keep_checkpoint: keep the last checkpoint as ``last_checkpoint.json``.
        protect: files the output folder must not hold (the config file).
    """

    quiet: bool = True
    resume: bool = False
    overwrite: bool = False
    log: Log | None = None
    keep_checkpoint: bool = False
    protect: tuple[str | Path, ...] = ()

    def say(self, message: str) -> None:
        """Pass ``message`` to ``log``, if any."""
        if self.log is not None:
            self.log(message)


class TrainHook(Protocol):
    """Changes what a run trains on, for a workflow built on :func:`run_config` (``distill``).

    ``train_inputs`` is called once the data is encoded and checked, before the model is built
    (so the model's seeded initialisation is that of a plain run), and may return other training
    rows or tasks; ``attach`` subscribes to the loop's events once the run directory is open.
    """

    def train_inputs(self, config: RunConfig, splits: Splits, encoded: Encoded) -> TrainInputs:
        """The :class:`TrainInputs` to train on (validation stays ``encoded.valid``)."""
        ...

    def attach(self, events: Events, directory: Path | None) -> None:
        """Subscribe to ``events``; ``directory`` is the run directory, if any."""
        ...
