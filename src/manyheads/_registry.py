"""A thin name -> factory registry with "did you mean" errors (timm / TorchJD style).

Classes never import a registry; each family fills its registry from one explicit list
(:mod:`manyheads._catalogue`). An entry is either a factory (:meth:`Registry.register`) or a
lazy target ``"module:attr"`` with its one-line doc (:meth:`Registry.register_lazy`, how entry
points name a factory), imported on first :meth:`~Registry.get`; ``manyheads ls`` reads the
names and docs without importing torch.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar, cast

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
    """Maps names to factories of one family (architectures, balancing methods, task types ...).

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
        self._factories: dict[str, Callable[..., T]] = {}  # resolved (eager or loaded lazy)
        self._targets: dict[str, str] = {}  # lazy entries: name -> "module:attr"
        self._docs: dict[str, str] = {}  # every entry, in registration order

    def register(self, name: str, factory: Callable[..., T], doc: str | None = None) -> None:
        """Add ``factory`` under ``name``; a name can be registered once."""
        self._check_new(name)
        self._factories[name] = factory
        summary = doc if doc is not None else (factory.__doc__ or "").strip().split("\n")[0]
        self._docs[name] = summary

    def register_lazy(self, name: str, target: str, doc: str) -> None:
        """Add the factory at ``target`` (``"package.module:attr"``) under ``name``, unimported.

        The module is imported on the first :meth:`get` or :meth:`create` of ``name``;
        :meth:`names` and :meth:`describe` never import it, so ``doc`` is given here.

        Raises:
            InvalidParameterError: ``name`` is already registered, or ``target`` is not of the
                form ``"module:attr"``.

        Example:
            >>> r: Registry[object] = Registry("number")
            >>> r.register_lazy("fraction", "fractions:Fraction", "an exact rational number")
            >>> r.describe()
            {'fraction': 'an exact rational number'}
            >>> r.create("fraction", 1, 2)
            Fraction(1, 2)
        """
        self._check_new(name)
        module, sep, attr = target.partition(":")
        if not sep or not module or not attr:
            raise InvalidParameterError(
                f"The lazy target of {self.family} '{name}' must look like 'package.module:attr'. "
                f"Got {target!r} instead."
            )
        self._targets[name] = target
        self._docs[name] = doc

    def _check_new(self, name: str) -> None:
        if name in self._docs:
            raise InvalidParameterError(f"The {self.family} '{name}' is already registered.")

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory for ``name`` or raise a message listing the valid names.

        A lazy entry's module is imported here, once.
        """
        if name not in self._docs:
            names = self.names()
            raise InvalidParameterError(
                f"Unknown {self.family} '{name}'. Valid names: {', '.join(names)}."
                f"{did_you_mean(name, names)}"
            )
        if name not in self._factories:
            self._factories[name] = self._resolve(name, self._targets[name])
        return self._factories[name]

    def _resolve(self, name: str, target: str) -> Callable[..., T]:
        module, _, attr = target.partition(":")
        obj: object = importlib.import_module(module)
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise ImportError(
                    f"The {self.family} '{name}' is registered at {target!r}, and {module!r} "
                    f"has no attribute {attr!r}."
                ) from None
        if not callable(obj):
            raise TypeError(
                f"The {self.family} '{name}' is registered at {target!r}, which is not callable."
            )
        return cast("Callable[..., T]", obj)

    def create(self, name: str, /, *args: object, **kwargs: object) -> T:
        """Build the member called ``name`` with the given arguments."""
        return self.get(name)(*args, **kwargs)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._docs)

    def describe(self) -> dict[str, str]:
        """Name -> one-line summary, for ``manyheads ls``."""
        return dict(self._docs)

    def targets(self) -> dict[str, str]:
        """Name -> ``"module:attr"`` of every lazy entry (loaded or not)."""
        return dict(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._docs

    def __iter__(self) -> Iterator[str]:
        return iter(self._docs)
