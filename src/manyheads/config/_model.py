"""The ``model`` section: the architecture and its options, checked against every
architecture's signature (types from :func:`typing.get_type_hints`) and the ranges of
``docs/config.md``."""

from __future__ import annotations

import inspect
import math
import types
import typing
from collections.abc import Sequence
from typing import Any, Union

from manyheads.config._fields import known_name, matches, unknown_keys
from manyheads.config.schema import ModelConfig

__all__ = ["MAX_WIDTH", "build_model_config"]

#: The largest layer width, expert count or embedding size a config may ask for: a 16384 x 16384
#: layer alone holds 268 M weights (1 GiB in float32); a larger value is a typo (``1e12``).
MAX_WIDTH = 16384


def _option_hints(architecture: str) -> dict[str, tuple[inspect.Parameter, object]]:
    """Each option of ``architecture``: its parameter (whose annotation the messages show)
    and its evaluated type hint."""
    from manyheads.architectures._registry import ARCHITECTURES, architecture_options
    from manyheads.encoders._registry import build_input

    factory = ARCHITECTURES.get(architecture)
    own = inspect.signature(factory).parameters
    own_hints = {
        k: p.annotation for k, p in inspect.signature(factory, eval_str=True).parameters.items()
    }
    encoder_hints = typing.get_type_hints(build_input)
    return {
        k: (p, own_hints.get(k, Any) if own.get(k) == p else encoder_hints.get(k, Any))
        for k, p in architecture_options(architecture).items()
    }


def build_model_config(section: dict[str, Any], problems: list[str]) -> ModelConfig | None:
    """Options are checked against every architecture's options, so one config can serve a
    ``compare`` over several architectures; each run uses the options its architecture takes."""
    from manyheads.architectures._registry import ARCHITECTURES

    arch = section.get("architecture", "hps")
    if not known_name(ARCHITECTURES, "architecture", arch, "model.architecture", problems):
        return None
    options = {k: v for k, v in section.items() if k != "architecture"}
    known: dict[str, tuple[inspect.Parameter, object]] = {}
    for name in ARCHITECTURES.names():
        for key, option in _option_hints(name).items():
            known.setdefault(key, option)
    own = _option_hints(arch)
    unknown_keys(list(options), sorted(known), "model.", problems)
    for key, value in options.items():
        found = own.get(key, known.get(key))
        if found is None:
            continue
        param, hint = found
        if not matches(value, hint):
            problems.append(f"'model.{key}' must be of type {param.annotation}; got {value!r}.")
            continue
        message = _model_range(key, hint, value)
        if message is not None:
            problems.append(f"'model.{key}' {message}")
    return ModelConfig(architecture=arch, options=options)


def _without_none(hint: object) -> object:
    """``X`` for ``X | None``; any other hint unchanged."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _model_range(key: str, hint: object, value: object) -> str | None:
    """``"must be ... Got ..."`` for a model option outside its range, else None (ranges in
    docs/config.md; the architecture checks the rest when it is built)."""
    if _without_none(hint) == Sequence[int] and isinstance(value, list | tuple):
        return _widths_range(value)
    if hint is int and not isinstance(value, bool) and isinstance(value, int):
        if not 0 <= value <= MAX_WIDTH:
            return f"must be an int in [0, {MAX_WIDTH}]. Got {value!r}."
    elif hint is float and isinstance(value, int | float) and not isinstance(value, bool):
        return _float_range(key, value)
    return None


def _widths_range(value: list[object] | tuple[object, ...]) -> str | None:
    for i, width in enumerate(value):
        if not (isinstance(width, int) and not isinstance(width, bool)) or not (
            1 <= width <= MAX_WIDTH
        ):
            return (
                f"must be a list of ints in [1, {MAX_WIDTH}] (layer widths). "
                f"Got {width!r} at position {i}."
            )
    return None


def _float_range(key: str, value: float) -> str | None:
    if not math.isfinite(value):
        return f"must be a finite number. Got {value!r}."
    if key == "dropout" and not 0.0 <= value < 1.0:
        return f"must be a number in [0, 1) (the share of units dropped). Got {value!r}."
    if key != "dropout" and value < 0:
        return f"must be a finite number >= 0. Got {value!r}."
    return None
