"""Loss weighting methods: per-task losses [T] -> weights [T] (``manyheads ls weightings``)."""

from manyheads.weighting._dwa import DWA
from manyheads.weighting._ew import EW
from manyheads.weighting._famo import FAMO
from manyheads.weighting._gls import GLS
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting._gradnorm import GradNorm
from manyheads.weighting._imtl_l import IMTLL
from manyheads.weighting._registry import WEIGHTINGS, create_weighting, list_weightings
from manyheads.weighting._rlw import RLW
from manyheads.weighting._static import Static
from manyheads.weighting._stch import STCH
from manyheads.weighting._uw import UW
from manyheads.weighting.base import Weighting

__all__ = [
    "DWA",
    "EW",
    "FAMO",
    "GLS",
    "IMTLL",
    "RLW",
    "STCH",
    "UW",
    "WEIGHTINGS",
    "GradNorm",
    "GradientNormWeighting",
    "Static",
    "Weighting",
    "create_weighting",
    "list_weightings",
]
