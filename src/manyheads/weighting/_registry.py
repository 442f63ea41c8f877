"""The registry of balancing methods, filled from one explicit list (``manyheads ls weightings``).

It holds loss weightings (:class:`~manyheads.weighting.Weighting`) and gradient aggregators
(:class:`~manyheads.aggregation.Aggregator`) under one switch, ``train.weighting``; options come
from ``train.weighting_options``. The option ``rep_grad: true`` runs an aggregator on the
gradients at the shared features (one encoder backward) instead of the shared parameters; a
method that does not support it is refused. The methods and their papers are listed in each
class's docstring and in ``docs/benchmarks.md``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from manyheads._registry import Registry, did_you_mean
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
from manyheads.aggregation.base import Aggregator
from manyheads.errors import InvalidParameterError
from manyheads.weighting._dwa import DWA
from manyheads.weighting._ew import EW
from manyheads.weighting._famo import FAMO
from manyheads.weighting._gls import GLS
from manyheads.weighting._gradnorm import GradNorm
from manyheads.weighting._imtl_l import IMTLL
from manyheads.weighting._rlw import RLW
from manyheads.weighting._static import Static
from manyheads.weighting._stch import STCH
from manyheads.weighting._uw import UW
from manyheads.weighting.base import Weighting

__all__ = ["WEIGHTINGS", "create_weighting", "list_weightings"]

Method = Weighting | Aggregator

WEIGHTINGS: Registry[Method] = Registry("weighting")
_ENTRIES: list[tuple[str, Callable[..., Method], str]] = [
    # loss weightings
    ("ew", EW, "equal weights: the plain sum of task losses"),
    ("static", Static, "fixed per-task weights from each task's 'weight'"),
    ("uw", UW, "uncertainty weighting (Kendall et al. 2018)"),
    ("dwa", DWA, "dynamic weight average (Liu et al. 2019)"),
    ("rlw", RLW, "random loss weighting (Lin et al. 2022)"),
    ("gls", GLS, "geometric loss strategy (Chennupati et al. 2019)"),
    ("imtl_l", IMTLL, "IMTL loss balance (Liu et al. 2021)"),
    ("famo", FAMO, "fast adaptive multitask optimisation (Liu et al. 2023)"),
    ("stch", STCH, "smooth Tchebycheff scalarisation (Lin et al. 2024)"),
    ("gradnorm", GradNorm, "gradient normalisation (Chen et al. 2018)"),
    ("db_mtl", DBMTL, "dual-balancing MTL (Lin et al. 2023); needs task gradients"),
    # gradient aggregators
    ("mgda", MGDA, "min-norm point of the task gradients (Sener & Koltun 2018)"),
    ("pcgrad", PCGrad, "projecting conflicting gradients (Yu et al. 2020)"),
    ("graddrop", GradDrop, "gradient sign dropout (Chen et al. 2020)"),
    ("gradvac", GradVac, "gradient vaccine (Wang et al. 2021)"),
    ("imtl", IMTL, "IMTL gradient balance (Liu et al. 2021)"),
    ("cagrad", CAGrad, "conflict-averse gradient descent (Liu et al. 2021)"),
    ("nash_mtl", NashMTL, "Nash bargaining solution (Navon et al. 2022)"),
    ("moco", MoCo, "multi-objective gradient correction (Fernando et al. 2023)"),
    ("aligned_mtl", AlignedMTL, "aligned gradients (Senushkin et al. 2023)"),
    ("fairgrad", FairGrad, "alpha-fair resource allocation (Ban & Ji 2024)"),
    ("upgrad", UPGrad, "unconflicting projection of gradients (Quinton & Rey 2024)"),
]
for _name, _factory, _doc in _ENTRIES:
    WEIGHTINGS.register(_name, _factory, doc=_doc)


def _check_options(name: str, options: dict[str, Any]) -> None:
    params = inspect.signature(WEIGHTINGS.get(name)).parameters
    valid = [k for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    valid.append("rep_grad")
    for key in options:
        if key not in valid:
            raise InvalidParameterError(
                f"Unknown option '{key}' for weighting '{name}'. Valid options: "
                f"{', '.join(valid)}.{did_you_mean(key, valid)}"
            )


def create_weighting(name: str, n_tasks: int, /, **options: Any) -> Method:
    """Build the balancing method ``name`` for ``n_tasks`` tasks.

    Raises:
        InvalidParameterError: an unknown name or option, or ``rep_grad`` for a method that
            does not support it.

    Example:
        >>> create_weighting("ew", 2)
        EW()
        >>> create_weighting("mgda", 3, rep_grad=True).rep_grad
        True
    """
    _check_options(name, options)
    rep_grad = options.pop("rep_grad", False)
    method = WEIGHTINGS.create(name, n_tasks, **options)
    if rep_grad is not False:
        if not isinstance(method, Aggregator):
            raise InvalidParameterError(
                f"The 'rep_grad' option does not apply to weighting '{name}': it weights the "
                "losses, and rep_grad only changes where gradient aggregators read gradients. "
                f"Remove it, or use one of: {', '.join(_rep_grad_names())}."
            )
        if isinstance(rep_grad, bool) and rep_grad and not method.supports_rep_grad:
            raise InvalidParameterError(
                f"The weighting '{name}' does not support rep_grad=True: it needs the gradients "
                "of the shared parameters. Remove 'rep_grad', or use one of: "
                f"{', '.join(_rep_grad_names())}."
            )
        method.rep_grad = rep_grad
    return method


def _rep_grad_names() -> list[str]:
    return [
        n
        for n, factory, _ in _ENTRIES
        if isinstance(factory, type)
        and issubclass(factory, Aggregator)
        and factory.supports_rep_grad
    ]


def list_weightings() -> list[str]:
    """Names of every loss weighting and gradient aggregator."""
    return WEIGHTINGS.names()
