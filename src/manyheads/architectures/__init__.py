"""Multi-task architectures: one contract (:class:`MTLModel`), one file per architecture."""

from manyheads.architectures._experts import FusedExperts
from manyheads.architectures._registry import (
    ARCHITECTURES,
    build_model,
    create_model,
    list_architectures,
)
from manyheads.architectures.base import Features, MTLModel, TaskTowers
from manyheads.architectures.cascade import Cascade
from manyheads.architectures.cross_stitch import CrossStitch
from manyheads.architectures.hps import HPS
from manyheads.architectures.mmoe import MMoE
from manyheads.architectures.mtan import MTAN
from manyheads.architectures.ple import PLE
from manyheads.architectures.soft_sharing import SoftSharing
from manyheads.architectures.stl import STL

__all__ = [
    "ARCHITECTURES",
    "HPS",
    "MTAN",
    "PLE",
    "STL",
    "Cascade",
    "CrossStitch",
    "Features",
    "FusedExperts",
    "MMoE",
    "MTLModel",
    "SoftSharing",
    "TaskTowers",
    "build_model",
    "create_model",
    "list_architectures",
]
