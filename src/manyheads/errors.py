"""Exceptions raised by manyheads.

Every error meant for a user carries a message that names the thing at fault (file, line, column,
key or parameter), what was expected, what was received and how to fix it. The CLI turns any
:class:`ManyheadsError` into that message on stderr and exit code 2, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataError",
    "DataWarning",
    "InvalidParameterError",
    "ManyheadsError",
    "NotFittedError",
]


class ManyheadsError(Exception):
    """Base class of every error that is the user's to fix (exit code 2 on the CLI)."""


class InvalidParameterError(ManyheadsError, ValueError, TypeError):
    """A parameter has the wrong type or value.

    Example:
        >>> raise InvalidParameterError("The 'epochs' setting must be an int >= 1. Got 0.")
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'epochs' setting must be an int >= 1. Got 0.
    """


class DataError(ManyheadsError, ValueError):
    """Input data cannot be used: a missing file, a bad cell, an unknown column.

    Args:
        message: what is wrong and how to fix it.
        path: the file at fault, if any.
        line: the 1-based line number in that file (the header is line 1 of a CSV).
        column: the column at fault, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.column = column
        where = []
        if path is not None:
            where.append(str(path))
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ConfigError(ManyheadsError, ValueError):
    """A configuration has one or more problems; all of them are reported at once.

    Args:
        problems: one human-readable line per problem, each naming its key.
        source: the config file the problems come from, if any.
    """

    def __init__(self, problems: list[str], *, source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        n = len(self.problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{head}{n} problem{'s' if n != 1 else ''} in the configuration:\n{lines}")


class NotFittedError(ManyheadsError, RuntimeError):
    """A learned object (preprocessor, model) was used before it was fitted."""


class DataWarning(UserWarning):
    """Input data was used, but part of it was lost on the way (for example words past a
    sequence encoder's ``max_length``); the message says how much and how to keep it."""
