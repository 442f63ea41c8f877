"""Every option of every registered architecture, encoder and balancing method is declared and
refused in the one message form (scikit-learn's ``check_param_validation``).

For each registry entry: every constructor option has a constraint in the class's
``_parameter_constraints`` (and every constraint names an option); for each constraint, the
values that break it (:meth:`~manyheads._validation.Constraint.invalid_values`) and no other form
of the option are refused with an :class:`InvalidParameterError` whose message is the template of
:func:`~manyheads._validation.option_message`, naming the owner, the option, what was expected
and the value received. Nothing here is written per class.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from manyheads._catalogue import ARCHITECTURES, ENCODERS, METHODS
from manyheads._registry import Registry
from manyheads._validation import Constraint, describe
from manyheads.architectures._registry import encoder_argument
from manyheads.data.preprocess import InputSpec
from manyheads.encoders import build_input
from manyheads.errors import InvalidParameterError

REGISTRIES: dict[str, Registry[Any]] = {
    "architecture": ARCHITECTURES,
    "encoder": ENCODERS,
    "balancing method": METHODS,
}
ENTRIES = [
    pytest.param(registry, name, id=f"{family}-{name}")
    for family, registry in REGISTRIES.items()
    for name in registry.names()
]

#: The positional inputs the library wires in (the built encoder or its factory, the input
#: sizes, the head widths): not options a user sets.
WIRING = ("encoder", "make_encoder", "spec", "out_dims")
SPEC = InputSpec(3, (), ())
HEADS = {"a": 1, "b": 1}
N_TASKS = 2

_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _options(factory: Callable[..., Any]) -> list[str]:
    params = inspect.signature(factory).parameters.values()
    return [p.name for p in params if p.kind in _KINDS and p.name not in WIRING]


def _build(registry: Registry[Any], name: str, option: str, value: object) -> object:
    """Build entry ``name`` with ``option=value`` and everything else left at its default."""
    factory = registry.get(name)
    if registry is METHODS:
        if option == "n_tasks":
            return factory(value)
        return factory(N_TASKS, **{option: value})
    if registry is ENCODERS:
        return factory(SPEC, **{option: value})
    inputs = {
        "encoder": lambda: build_input(SPEC),
        "make_encoder": lambda: lambda: build_input(SPEC),
        "spec": lambda: SPEC,
    }[encoder_argument(factory)]()
    return factory(inputs, HEADS, **{option: value})


def _breaking(forms: Sequence[Constraint | None]) -> list[object]:
    """Values that break one of ``forms`` and satisfy none of them."""
    out = []
    for form in forms:
        for value in form.invalid_values() if form is not None else ():
            if not any(value is None if f is None else f.is_satisfied_by(value) for f in forms):
                out.append(value)
    return out


@pytest.mark.parametrize(("registry", "name"), ENTRIES)
def test_every_option_has_a_constraint(registry: Registry[Any], name: str) -> None:
    factory = registry.get(name)
    declared = getattr(factory, "_parameter_constraints", None)
    assert declared is not None, f"{name}: no _parameter_constraints"
    assert sorted(declared) == sorted(_options(factory)), (
        f"{name}: options {_options(factory)} but constraints for {list(declared)}"
    )


@pytest.mark.parametrize(("registry", "name"), ENTRIES)
def test_every_constraint_refuses_with_the_template(registry: Registry[Any], name: str) -> None:
    factory = registry.get(name)
    owners = (name.lower(), factory.__name__.lower())
    problems = []
    for option, forms in factory._parameter_constraints.items():
        values = _breaking(forms)
        assert values, f"{name}.{option}: no value breaks {describe(forms)}"
        for value in values:
            template = (
                rf"The '{option}' option of (?P<owner>.+) must be {re.escape(describe(forms))}"
                rf"\. Got {re.escape(repr(value))} instead\.( .+)?"
            )
            try:
                _build(registry, name, option, value)
            except InvalidParameterError as error:
                match = re.fullmatch(template, str(error), flags=re.DOTALL)
                if match is None or not any(o in match["owner"].lower() for o in owners):
                    problems.append(f"{option}={value!r}: {error}")
                continue
            problems.append(f"{option}={value!r}: accepted")
    assert not problems, f"{name}:\n" + "\n".join(problems)
