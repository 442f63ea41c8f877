"""The architecture registry (filled in :mod:`manyheads._catalogue`) and how models are built."""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from manyheads._catalogue import ARCHITECTURES
from manyheads._registry import did_you_mean
from manyheads.architectures.base import MTLModel, TaskTowers
from manyheads.data.preprocess import InputSpec
from manyheads.encoders.base import InputEncoder
from manyheads.errors import InvalidParameterError
from manyheads.tasks._registry import get_kind
from manyheads.tasks.task import Task

__all__ = [
    "ARCHITECTURES",
    "architecture_options",
    "build_model",
    "create_model",
    "list_architectures",
]


def architecture_options(name: str) -> dict[str, inspect.Parameter]:
    """Keyword options the architecture ``name`` accepts (besides ``spec`` and ``heads``)."""
    params = inspect.signature(ARCHITECTURES.get(name)).parameters
    return {k: p for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}


def create_model(name: str, spec: InputSpec, heads: dict[str, int], /, **options: Any) -> MTLModel:
    """Build the architecture ``name`` for the given inputs and heads.

    Raises:
        InvalidParameterError: unknown architecture or option (with the closest valid name).

    Example:
        >>> m = create_model("hps", InputSpec(2, (), ()), {"y": 1}, hidden=[4])
        >>> type(m).__name__
        'HPS'
    """
    valid = architecture_options(name)
    for key in options:
        if key not in valid:
            raise InvalidParameterError(
                f"Unknown option '{key}' for architecture '{name}'. Valid options: "
                f"{', '.join(valid)}.{did_you_mean(key, list(valid))}"
            )
    return ARCHITECTURES.create(name, spec, heads, **options)


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return ARCHITECTURES.names()


def build_model(
    name: str,
    spec: InputSpec,
    tasks: list[Task],
    states: dict[str, dict[str, Any]],
    options: dict[str, Any],
) -> MTLModel:
    """Build architecture ``name`` for ``tasks`` (heads sized from their fitted label states).

    Wires what the task types need beyond a head: token-level outputs for ``tagging`` tasks
    (which need an encoder that emits per-token features) and CRF transition scores.

    Raises:
        InvalidParameterError: a token-level task without a token-level encoder, or batch
            normalisation on per-token features.
    """
    heads = {t.name: get_kind(t.type).out_dim(states[t.name]) for t in tasks}
    model = create_model(name, spec, heads, **options)
    encoders = [m for m in model.modules() if isinstance(m, InputEncoder)]
    model.token_level = any(getattr(m, "token_level", False) for m in encoders)
    model.token_tasks = frozenset(t.name for t in tasks if get_kind(t.type).level == "token")
    batch_norm = any(isinstance(m, nn.BatchNorm1d) for m in model.modules())  # MLPs, experts
    if model.token_level and batch_norm:
        raise InvalidParameterError(
            "model.norm 'batch' does not work on per-token features: the padded word slots "
            "of each batch would enter the batch statistics. Use norm: layer (or none)."
        )
    if model.token_tasks and not model.token_level:
        raise InvalidParameterError(
            f"The task(s) {', '.join(sorted(model.token_tasks))} predict one label per token: "
            "they need a 'tokens' input and a sequence encoder (model.encoder: cnn, bilstm, "
            "transformer or pretrained)."
        )
    for task in tasks:
        if task.crf:
            towers = getattr(model, "towers", None)  # every architecture's heads are TaskTowers
            if not isinstance(towers, TaskTowers):
                raise InvalidParameterError(
                    f"Task '{task.name}' asks for a CRF, and architecture '{name}' has no "
                    "TaskTowers heads to hold one."
                )
            towers.add_crf(task.name)
    return model
