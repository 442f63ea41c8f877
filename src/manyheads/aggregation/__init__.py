"""Gradient aggregators: per-task gradients [T, P] of the shared parameters -> one update [P]."""

from manyheads.aggregation._aligned_mtl import AlignedMTL
from manyheads.aggregation._cagrad import CAGrad
from manyheads.aggregation._db_mtl import DBMTL
from manyheads.aggregation._fairgrad import FairGrad
from manyheads.aggregation._graddrop import GradDrop
from manyheads.aggregation._gradvac import GradVac
from manyheads.aggregation._imtl import IMTL
from manyheads.aggregation._mgda import MGDA
from manyheads.aggregation._moco import MoCo
from manyheads.aggregation._nash_mtl import NashMTL
from manyheads.aggregation._pcgrad import PCGrad
from manyheads.aggregation._upgrad import UPGrad
from manyheads.aggregation.base import (
    Aggregator,
    ColumnwiseAggregator,
    GramianAggregator,
    JacobianTarget,
    RunningJacobianAggregator,
)

__all__ = [
    "DBMTL",
    "IMTL",
    "MGDA",
    "Aggregator",
    "AlignedMTL",
    "CAGrad",
    "ColumnwiseAggregator",
    "FairGrad",
    "GradDrop",
    "GradVac",
    "GramianAggregator",
    "JacobianTarget",
    "MoCo",
    "NashMTL",
    "PCGrad",
    "RunningJacobianAggregator",
    "UPGrad",
]
