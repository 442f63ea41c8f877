"""The training engine: backward with balancing, the explicit loop, checkpoints and events.

``train_model`` (:mod:`manyheads.engine.trainer`) runs a whole training; the loop itself is
:mod:`manyheads.engine.loop`, its events :mod:`manyheads.engine.events`, the checkpoint files
:mod:`manyheads.engine.checkpoint`. The settings are :class:`manyheads.config.train.TrainSettings`.
"""

from manyheads.engine._checkpointing import Checkpoints, ResumePoint
from manyheads.engine._early_stop import EarlyStopping
from manyheads.engine._inputs import TrainInputs
from manyheads.engine._monitor import check_monitor, validation_score
from manyheads.engine._per_task_best import PerTaskBest
from manyheads.engine._resume import read_resume_point
from manyheads.engine._schedule import lr_factor
from manyheads.engine.events import Events
from manyheads.engine.loop import LoopState, train_one_epoch
from manyheads.engine.trainer import TrainResult, train_model

__all__ = [
    "Checkpoints",
    "EarlyStopping",
    "Events",
    "LoopState",
    "PerTaskBest",
    "ResumePoint",
    "TrainInputs",
    "TrainResult",
    "check_monitor",
    "lr_factor",
    "read_resume_point",
    "train_model",
    "train_one_epoch",
    "validation_score",
]
