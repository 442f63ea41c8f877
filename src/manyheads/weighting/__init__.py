"""Loss weighting methods: per-task losses [T] -> weights [T] (``manyheads ls weightings``)."""

from manyheads.weighting._ew import EW
from manyheads.weighting._registry import WEIGHTINGS, create_weighting, list_weightings
from manyheads.weighting._static import Static
from manyheads.weighting.base import Weighting

__all__ = ["EW", "WEIGHTINGS", "Static", "Weighting", "create_weighting", "list_weightings"]
