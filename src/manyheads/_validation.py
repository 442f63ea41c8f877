"""Declared parameter constraints, the one function that checks them, the one message template.

Every architecture, encoder and balancing method lists the constraints of its constructor options
in a class attribute, the way scikit-learn's estimators do (``_parameter_constraints``)::

    _parameter_constraints: ClassVar[Constraints] = {
        "dropout": [Interval(float, 0, 1, closed="left")],
        "tower": [SequenceOf(Interval(int, 1, None, closed="left")), None],
    }

and its base class (through :class:`ValidatesParams`) checks the constructor's arguments against
them with :func:`validate_params` before ``__init__`` runs, as scikit-learn's base class does
(``_validate_params``). A value is valid if it satisfies one of its option's constraints (``None``
in the list allows None). The crawl and dataset configs check their keys with the same objects,
collecting every problem at once.

Every message has one form, written by :func:`option_message` (the contract test
``tests/contract/test_param_validation.py`` holds each registry to it)::

    The '<option>' option of <owner> must be <expected>. Got <value> instead.[ <fix>]

Checks across options (a width divisible by the number of heads, a list as long as the tasks)
come after the declared ones, as plain code that raises with the same template.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from manyheads._constraints import (
    Boolean,
    Constraint,
    InstanceOf,
    Interval,
    Options,
    SequenceOf,
    StrOptions,
    Text,
)
from manyheads.errors import InvalidParameterError

__all__ = [
    "COUNT",
    "NON_NEGATIVE",
    "NON_NEGATIVE_INT",
    "N_TASKS",
    "POSITIVE",
    "RATE",
    "STRINGS",
    "UNIT_INTERVAL",
    "WIDTHS",
    "Boolean",
    "Constraint",
    "Constraints",
    "InstanceOf",
    "Interval",
    "Options",
    "SequenceOf",
    "StrOptions",
    "TaskCountParams",
    "Text",
    "ValidatesParams",
    "describe",
    "option_message",
    "valid_values",
    "validate_params",
]


def option_message(owner: str, name: str, expected: str, value: object, fix: str = "") -> str:
    """The one message for a bad option: owner, option, what was expected, what was received, fix.

    Example:
        >>> option_message("MMoE", "dropout", "a float in [0, 1)", 1.5)
        "The 'dropout' option of MMoE must be a float in [0, 1). Got 1.5 instead."
    """
    tail = f" {fix.strip()}" if fix.strip() else ""
    return f"The '{name}' option of {owner} must be {expected}. Got {value!r} instead.{tail}"


#: An int >= 1: a count, a width.
COUNT = Interval(int, 1, None, closed="left")
#: A float in [0, 1): a dropout rate, a split share, an EMA factor.
RATE = Interval(float, 0, 1, closed="left")
#: A float in [0, 1]: a share, a leak, a mixing factor.
UNIT_INTERVAL = Interval(float, 0, 1, closed="both")
#: A float > 0: a temperature, a learning rate, a timeout.
POSITIVE = Interval(float, 0, None, closed="neither")
#: A float >= 0: a weight, a regularisation, a delay.
NON_NEGATIVE = Interval(float, 0, None, closed="left")
#: An int >= 0: a depth, a page or character limit, a retry count.
NON_NEGATIVE_INT = Interval(int, 0, None, closed="left")
#: Layer widths, each >= 1 (an empty list is no layer).
WIDTHS = SequenceOf(COUNT)
#: A list of strings: column names, URL patterns, domains.
STRINGS = SequenceOf(Text())

#: An option's allowed forms: a value is valid if it satisfies one; ``None`` allows None.
Constraints = Mapping[str, Sequence[Constraint | None]]

#: The first option of every balancing method: the number of tasks.
N_TASKS: Constraints = {"n_tasks": [COUNT]}


def describe(constraints: Sequence[Constraint | None]) -> str:
    """The forms of one option, joined: ``an int >= 1 or None``.

    Example:
        >>> describe([COUNT, None])
        'an int >= 1 or None'
    """
    names = [str(c) if c is not None else "None" for c in constraints]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _satisfied(constraints: Sequence[Constraint | None], value: object) -> bool:
    return any(value is None if c is None else c.is_satisfied_by(value) for c in constraints)


def validate_params(
    owner: str,
    constraints: Constraints,
    values: Mapping[str, object],
    *,
    problems: list[str] | None = None,
) -> None:
    """Check ``values`` against the declared ``constraints`` of ``owner``'s options.

    Options without a value in ``values`` are skipped (a constructor passes ``locals()``; a
    config section passes the keys it has), values without a constraint are not checked.

    Args:
        owner: who takes the options, as the messages name it (``MMoE``, ``the 'cnn' encoder``).
        constraints: option -> its allowed forms.
        values: option -> the value received.
        problems: when given, every problem is appended to it instead of raising the first.

    Raises:
        InvalidParameterError: the first value that satisfies none of its option's forms
            (without ``problems``).

    Example:
        >>> rate = {"dropout": [Interval(float, 0, 1, closed="left")]}
        >>> validate_params("MMoE", rate, {"dropout": 0.1})
        >>> validate_params("MMoE", rate, {"dropout": 1.5})
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'dropout' option of MMoE must be a float in [0, 1). Got 1.5 instead.
    """  # noqa: E501
    for name, forms in constraints.items():
        if name not in values or _satisfied(forms, values[name]):
            continue
        value = values[name]
        fixes = (c.fix(value) for c in forms if c is not None)
        message = option_message(owner, name, describe(forms), value, next(filter(None, fixes), ""))
        if problems is None:
            raise InvalidParameterError(message)
        problems.append(message)


def valid_values(
    owner: str, constraints: Constraints, values: Mapping[str, object], problems: list[str]
) -> dict[str, Any]:
    """The ``values`` that satisfy their option's forms, each checked on its own; a problem is
    appended to ``problems`` for each of the others (what a config reader keeps and reports).

    Example:
        >>> problems: list[str] = []
        >>> valid_values("X", {"n": [COUNT], "m": [COUNT]}, {"n": 2, "m": 0}, problems)
        {'n': 2}
        >>> problems
        ["The 'm' option of X must be an int >= 1. Got 0 instead."]
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        n_before = len(problems)
        validate_params(owner, constraints, {key: value}, problems=problems)
        if len(problems) == n_before:
            out[key] = value
    return out


class ValidatesParams:
    """Mixin of the bases whose subclasses declare ``_parameter_constraints``: the arguments of a
    subclass's ``__init__`` (defaults applied) are checked against them before its body runs.

    Only the outermost ``__init__`` of a construction checks (a ``super().__init__`` call does
    not check again), with the class's ``_params_owner``, or else its name, as the owner the
    messages name. Checks across options stay in ``__init__``, as plain code.

    Example:
        >>> class Smooth(ValidatesParams):
        ...     _parameter_constraints = {"mu": [POSITIVE]}
        ...     def __init__(self, *, mu: float = 1.0) -> None:
        ...         self.mu = mu
        >>> Smooth(mu=-1.0)
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'mu' option of Smooth must be a float > 0. Got -1.0 instead.
    """  # noqa: E501

    _parameter_constraints: ClassVar[Constraints] = {}
    #: who takes the options, as the messages name it; None: the class name.
    _params_owner: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _checked_init(cls.__dict__["__init__"])  # type: ignore[method-assign]


def _checked_init(init: Callable[..., None]) -> Callable[..., None]:
    """``init``, checking its bound arguments first when it is the instance's own ``__init__``."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def checked(self: ValidatesParams, *args: object, **kwargs: object) -> None:
        cls = type(self)
        if cls.__init__ is checked:
            try:
                bound = signature.bind(self, *args, **kwargs)
            except TypeError:  # let the call raise Python's own message
                init(self, *args, **kwargs)
                return
            bound.apply_defaults()
            values = dict(list(bound.arguments.items())[1:])  # without self
            owner = cls._params_owner or cls.__name__
            validate_params(owner, cls._parameter_constraints, values)
        init(self, *args, **kwargs)

    return checked


class TaskCountParams(ValidatesParams):
    """:class:`ValidatesParams` for the balancing methods (loss weightings and gradient
    aggregators), whose first option is the number of tasks, kept as :attr:`n_tasks`.

    Subclasses add their options to ``_parameter_constraints`` (``{**N_TASKS, ...}``).

    Args:
        n_tasks: the number of tasks T.
    """

    _parameter_constraints: ClassVar[Constraints] = N_TASKS

    def __init__(self, n_tasks: int) -> None:
        super().__init__()
        self.n_tasks = n_tasks
