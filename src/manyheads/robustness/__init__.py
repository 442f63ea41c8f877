"""Robustness: evaluate trained runs under input corruption, multi-task and single-task side
by side (``manyheads robustness``; docs/robustness.md).

Corruptions (:data:`CORRUPTIONS`): Gaussian noise on numeric columns, category dropout to the
unseen index, word dropout and character typos on text, typos on tokens, pixel noise on images.
"""

from manyheads.robustness._corruptions import CORRUPTIONS, Corruption, corrupt_frame
from manyheads.robustness._evaluate import (
    DEFAULT_STRENGTHS,
    RobustnessResult,
    degradation,
    robustness,
)
from manyheads.robustness._report import table, write_outputs

__all__ = [
    "CORRUPTIONS",
    "DEFAULT_STRENGTHS",
    "Corruption",
    "RobustnessResult",
    "corrupt_frame",
    "degradation",
    "robustness",
    "table",
    "write_outputs",
]
