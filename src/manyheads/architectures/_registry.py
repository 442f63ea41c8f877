"""The architecture registry (filled in :mod:`manyheads._catalogue`) and how models are built."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

from torch import nn

from manyheads._catalogue import ARCHITECTURES
from manyheads._registry import did_you_mean
from manyheads.architectures.base import MTLModel, TaskTowers
from manyheads.data.preprocess import InputSpec
from manyheads.encoders._registry import build_input
from manyheads.encoders._wide import WIDE_CONSTRAINTS, WidePath
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.ensemble import MEMBER_AVERAGES
from manyheads.errors import InvalidParameterError
from manyheads.tasks._fitted import FittedTask

__all__ = [
    "ARCHITECTURES",
    "ENCODER_OPTIONS",
    "WIDE_OPTIONS",
    "architecture_options",
    "build_model",
    "create_model",
    "encoder_argument",
    "list_architectures",
]


#: The model options that configure its input encoder (:func:`build_input`'s keywords); an
#: architecture that receives an encoder accepts them next to its own.
ENCODER_OPTIONS: dict[str, inspect.Parameter] = {
    k: p
    for k, p in inspect.signature(build_input).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
}

#: The wide path's model options (:mod:`manyheads.encoders._wide`), taken by every architecture
#: that receives an input encoder; off unless ``wide`` is true.
WIDE_OPTIONS: dict[str, inspect.Parameter] = {
    k: inspect.Parameter(k, inspect.Parameter.KEYWORD_ONLY, default=d)
    for k, d in (("wide", False), ("wide_decay", 0.0), ("wide_lr", None))
}


def encoder_argument(factory: Callable[..., MTLModel]) -> str:
    """How the architecture ``factory`` takes its input: the name of its first parameter.

    ``encoder`` (a built encoder), ``make_encoder`` (a factory of encoders) or ``spec`` (the
    input sizes; the architecture reads the inputs itself). See
    :mod:`manyheads.architectures.base`.

    Example:
        >>> encoder_argument(ARCHITECTURES.get("hps")), encoder_argument(ARCHITECTURES.get("stl"))
        ('encoder', 'make_encoder')
    """
    first = next(iter(inspect.signature(factory).parameters), "")
    if first not in ("encoder", "make_encoder", "spec"):
        raise TypeError(
            f"The first parameter of architecture {getattr(factory, '__name__', factory)!r} must "
            f"be 'encoder', 'make_encoder' or 'spec'. Got {first!r} instead."
        )
    return first


def architecture_options(name: str) -> dict[str, inspect.Parameter]:
    """Keyword options the architecture ``name`` accepts: its own and, if it receives an input
    encoder, the encoder options (:data:`ENCODER_OPTIONS`)."""
    factory = ARCHITECTURES.get(name)
    params = inspect.signature(factory).parameters
    own = {k: p for k, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    if encoder_argument(factory) == "spec":
        return own
    return {**own, **ENCODER_OPTIONS, **WIDE_OPTIONS}


def create_model(
    name: str,
    spec: InputSpec,
    out_dims: dict[str, int],
    /,
    **options: Any,  # noqa: ANN401 - each architecture's own options, checked by its class
) -> MTLModel:
    """Build the architecture ``name`` for the given inputs and head widths ``out_dims``.

    The input encoder is built here, once, from the encoder options (``encoder``,
    ``encoder_options``, ``embed_dim``, ``text_dim``) and passed to the architecture before any
    of its own modules is built, so the parameters are drawn in the same order as ever.

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
    factory = ARCHITECTURES.get(name)
    how = encoder_argument(factory)
    if how == "spec":
        return factory(spec, out_dims, **options)
    own = {k: v for k, v in options.items() if k not in ENCODER_OPTIONS and k not in WIDE_OPTIONS}
    encoding = {k: v for k, v in options.items() if k in ENCODER_OPTIONS}
    wide = {k: v for k, v in options.items() if k in WIDE_OPTIONS}
    make_encoder = functools.partial(build_input, spec, **encoding)
    model = factory(make_encoder() if how == "encoder" else make_encoder, out_dims, **own)
    _wire_members(model)
    _wire_wide(model, spec, out_dims, wide)
    return model


def list_architectures() -> list[str]:
    """Names of the registered architectures."""
    return ARCHITECTURES.names()


def build_model(
    name: str,
    spec: InputSpec,
    tasks: Sequence[FittedTask],
    options: dict[str, Any],
) -> MTLModel:
    """Build architecture ``name`` for the fitted ``tasks`` (heads sized from their label
    encodings, in the order of ``tasks``).

    Wires what the task types need beyond a head: token-level outputs for ``tagging`` tasks
    (which need an encoder that emits per-token features) and CRF transition scores; and the
    member output layers and averages of a TabM-style ensemble (:func:`_wire_members`).

    Raises:
        InvalidParameterError: a token-level task without a token-level encoder, or batch
            normalisation on per-token features.
    """
    out_dims = {t.name: t.out_dim for t in tasks}
    model = create_model(name, spec, out_dims, **options)
    encoders = [m for m in model.modules() if isinstance(m, InputEncoder)]
    model.token_level = any(getattr(m, "token_level", False) for m in encoders)
    model.token_tasks = frozenset(t.name for t in tasks if t.task_type.level == "token")
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
        if task.task.crf:
            towers = getattr(model, "towers", None)  # every architecture's heads are TaskTowers
            if not isinstance(towers, TaskTowers):
                raise InvalidParameterError(
                    f"Task '{task.name}' asks for a CRF, and architecture '{name}' has no "
                    "TaskTowers heads to hold one."
                )
            towers.add_crf(task.name)
    if model.n_members > 1:  # average probabilities, not logits (the members' mean of each)
        model.member_averages = {t.name: MEMBER_AVERAGES[t.task.type] for t in tasks}
    return model


def _wire_members(model: MTLModel) -> None:
    """Make ``model`` an ensemble of the members its encoder expands the rows into (its
    ``n_members``, the ``ensemble`` option): one output layer per member and task, averaged by
    value until :func:`build_model` says which tasks average probabilities."""
    encoders = [m for m in model.modules() if isinstance(m, InputEncoder)]
    n_members = max((getattr(m, "n_members", 1) for m in encoders), default=1)
    if n_members == 1:
        return
    towers = getattr(model, "towers", None)
    assert isinstance(towers, TaskTowers)  # every architecture on an encoder has them
    towers.add_members(n_members)
    model.n_members = n_members


def _wire_wide(
    model: MTLModel, spec: InputSpec, out_dims: dict[str, int], options: dict[str, Any]
) -> None:
    """With ``wide: true`` (or a list of tasks) and text columns read as bags, give every task
    (those tasks) a wide path of their
    TF-IDF vectors (:class:`~manyheads.encoders._wide.WidePath`): the towers add its logits, and
    each input encoder that reads the bags hands it the batch (a forward pre-hook)."""
    from manyheads._validation import validate_params

    validate_params(f"architecture '{type(model).__name__}'", WIDE_CONSTRAINTS, options)
    encoders = [m for m in model.modules() if isinstance(m, InputEncoder)]
    readers = [m for m in encoders if getattr(m, "text_keys", None)]
    towers = getattr(model, "towers", None)
    chosen = options.get("wide", False)
    if not chosen or not readers or not isinstance(towers, TaskTowers):
        return
    if not isinstance(chosen, bool):
        unknown = [t for t in chosen if t not in out_dims]
        if unknown:
            raise InvalidParameterError(
                f"The 'wide' option of architecture '{type(model).__name__}' must be true, "
                f"false or a list of the model's tasks ({', '.join(out_dims)}). Got the unknown "
                f"task(s) {unknown}.{did_you_mean(str(unknown[0]), list(out_dims))}"
            )
    wide = WidePath(
        spec.text_sizes,
        {t: w for t, w in out_dims.items() if chosen is True or t in chosen},
        weight_decay=float(options.get("wide_decay", 0.0)),
        lr=options.get("wide_lr"),
    )
    towers.add_wide(wide)
    for encoder in readers:
        encoder.register_forward_pre_hook(wide.read_hook)
