"""Loss weighting methods: per-task losses [T] -> weights [T].

One of the two kinds of balancing method (the other is :mod:`manyheads.aggregation`);
``manyheads ls methods`` lists both. ``create_weighting``, ``list_weightings`` and ``WEIGHTINGS``
are the deprecated names of :func:`manyheads.create_method`, :func:`manyheads.list_methods` and
``manyheads.METHODS``, the registry of every method (removed in 0.3).
"""

import warnings

from manyheads.weighting._deprecated import create_weighting, list_weightings
from manyheads.weighting._dwa import DWA
from manyheads.weighting._ew import EW
from manyheads.weighting._famo import FAMO
from manyheads.weighting._gls import GLS
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting._gradnorm import GradNorm
from manyheads.weighting._imtl_l import IMTLL
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
    "GradNorm",
    "GradientNormWeighting",
    "Static",
    "Weighting",
    "create_weighting",
    "list_weightings",
]


def __getattr__(name: str) -> object:
    """``WEIGHTINGS``, the deprecated name of the registry of balancing methods (PEP 562)."""
    if name != "WEIGHTINGS":
        raise AttributeError(f"module 'manyheads.weighting' has no attribute '{name}'")
    from manyheads._catalogue import METHODS

    warnings.warn(
        "'manyheads.weighting.WEIGHTINGS' is deprecated and will be removed in 0.3: "
        "use 'manyheads.METHODS'.",
        FutureWarning,
        stacklevel=2,
    )
    return METHODS
