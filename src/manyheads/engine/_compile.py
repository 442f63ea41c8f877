"""``train.compile``: the training step's forward and losses through ``torch.compile``.

Inductor generates fused kernels for the forward and, through AOTAutograd, the backward, so the
many small element-wise operations of a tabular MTL model (batch norms, gates, masked losses)
run as a few loops. It compiles C++ on a CPU, so it is opt-in and refused, with the fix, on a
machine without a C++ compiler. Gradient aggregators and GradNorm read the eager autograd graph
(grad_fn names and saved inputs: :mod:`manyheads.engine._autograd_internals`), which a compiled
graph does not expose, so ``compile`` takes a loss weighting other than ``gradnorm``.
"""

from __future__ import annotations

import warnings

import torch

from manyheads.aggregation.base import Aggregator
from manyheads.engine.loop import StepForward, step_forward
from manyheads.errors import InvalidParameterError
from manyheads.weighting._gradient import GradientNormWeighting
from manyheads.weighting.base import Weighting

__all__ = ["compile_problem", "compiled_forward", "cpp_compiler_problem"]


def compiled_forward(method: Weighting | Aggregator, device: torch.device) -> StepForward:
    """:func:`~manyheads.engine.loop.step_forward` compiled for ``device``, one graph per
    batch shape (``dynamic=False``: an epoch has at most two, the full batches and the last).

    Raises:
        InvalidParameterError: ``method`` needs the eager graph, or a CPU run finds no C++
            compiler (:func:`compile_problem`).
    """
    problem = compile_problem(method, device)
    if problem is not None:
        raise InvalidParameterError(problem)
    with warnings.catch_warnings():  # inductor's imports use torch.jit's deprecated API
        warnings.filterwarnings("ignore", "`torch.jit.script_method`", DeprecationWarning)
        compiled: StepForward = torch.compile(step_forward, dynamic=False)
    return compiled


def compile_problem(method: Weighting | Aggregator, device: torch.device) -> str | None:
    """Why the training step cannot be compiled for ``method`` on ``device``, else None
    (``manyheads validate`` asks before any work, ``train`` again when it builds the step)."""
    if not isinstance(method, Weighting) or isinstance(method, GradientNormWeighting):
        return (
            "The 'compile' setting needs a loss weighting (ew, uw, dwa, famo, ...) other than "
            f"gradnorm; {type(method).__name__} reads the eager autograd graph, which a compiled "
            "step does not expose. Set train.compile: false, or choose a loss weighting "
            "(train.method)."
        )
    if device.type == "cpu":
        return cpp_compiler_problem()
    return None


def cpp_compiler_problem() -> str | None:
    """Why inductor cannot build CPU kernels here (no C++ compiler found), else None."""
    from torch._inductor import cpp_builder  # private: the same search inductor does

    try:
        cpp_builder.get_cpp_compiler()
    except Exception as error:  # inductor raises its own types across versions
        return (
            "The 'compile' setting needs a C++ compiler to build CPU kernels, and none was "
            f"found ({type(error).__name__}: {str(error).strip()[:200]}). Install one "
            "(e.g. apt-get install g++, or set CXX to its path), or set train.compile: false."
        )
    return None
