"""Multi-task architectures: one contract (:class:`MTLModel`), one file per architecture."""

from manyheads.architectures._registry import (
    ARCHITECTURES,
    create_model,
    list_architectures,
)
from manyheads.architectures.base import Features, MTLModel, TaskTowers
from manyheads.architectures.hps import HPS
from manyheads.architectures.stl import STL

__all__ = [
    "ARCHITECTURES",
    "HPS",
    "STL",
    "Features",
    "MTLModel",
    "TaskTowers",
    "create_model",
    "list_architectures",
]
