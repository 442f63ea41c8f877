"""Hyper-parameter search with Optuna and cross-validation (``manyheads search``).

See ``docs/search.md``: the space file, the objectives, storages, ``--cv`` and the report.
"""

from manyheads.search._dimension import Dimension, SearchSpace
from manyheads.search._folds import FoldPlan, make_folds
from manyheads.search._objective import Objective, make_objective
from manyheads.search._options import SearchOptions, SearchResult
from manyheads.search._search import SEARCH_MARKER, search
from manyheads.search._space import load_space, parse_space

__all__ = [
    "SEARCH_MARKER",
    "Dimension",
    "FoldPlan",
    "Objective",
    "SearchOptions",
    "SearchResult",
    "SearchSpace",
    "load_space",
    "make_folds",
    "make_objective",
    "parse_space",
    "search",
]
