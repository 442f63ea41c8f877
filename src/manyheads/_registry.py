"""A thin name -> factory registry with "did you mean" errors (timm / TorchJD style).

Classes never import a registry; each family fills its registry from one explicit list.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from manyheads.errors import InvalidParameterError

T = TypeVar("T")

__all__ = ["Registry", "did_you_mean"]


def did_you_mean(name: str, choices: list[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest choice, or ``""`` if none is close.

    Example:
        >>> did_you_mean("mmeo", ["hps", "mmoe", "ple"])
        " Did you mean 'mmoe'?"
    """
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class Registry(Generic[T]):
    """Maps names to factories of one family (architectures, weightings, task types ...).

    Args:
        family: the family's name, used in error messages ("architecture").

    Example:
        >>> r: Registry[int] = Registry("number")
        >>> r.register("one", lambda: 1)
        >>> r.create("one")
        1
        >>> r.create("onw")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: Unknown number 'onw'. ... Did you mean 'one'?
    """

    def __init__(self, family: str) -> None:
        self.family = family
        self._factories: dict[str, Callable[..., T]] = {}
        self._docs: dict[str, str] = {}

    def register(self, name: str, factory: Callable[..., T], doc: str | None = None) -> None:
        """Add ``factory`` under ``name``; a name can be registered once."""
        if name in self._factories:
            raise InvalidParameterError(f"The {self.family} '{name}' is already registered.")
        self._factories[name] = factory
        summary = doc if doc is not None else (factory.__doc__ or "").strip().split("\n")[0]
        self._docs[name] = summary

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory for ``name`` or raise a message listing the valid names."""
        if name not in self._factories:
            names = self.names()
            raise InvalidParameterError(
                f"Unknown {self.family} '{name}'. Valid names: {', '.join(names)}."
                f"{did_you_mean(name, names)}"
            )
        return self._factories[name]

    def create(self, name: str, /, *args: object, **kwargs: object) -> T:
        """Build the member called ``name`` with the given arguments."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._factories)

    def describe(self) -> dict[str, str]:
        """Name -> one-line summary, for ``manyheads ls``."""
        return dict(self._docs)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)
