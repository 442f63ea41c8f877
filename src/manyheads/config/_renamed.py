"""Config keys renamed in 0.2, read under their old names for one release (scikit-learn's cycle).

``train.weighting`` and ``train.weighting_options`` became ``train.method`` and
``train.method_options`` (a balancing method is a loss weighting or a gradient aggregator). A
config file or an override that uses an old name still works and warns once with a
``FutureWarning`` naming the new one; a run directory that manyheads wrote itself before the
rename (its ``config.yaml``, its checkpoint's fingerprint) is read silently. The renames are
listed in ``CHANGELOG.md`` (Deprecated).
"""

from __future__ import annotations

import warnings
from typing import Any

from manyheads.errors import ConfigError

__all__ = [
    "RENAMED_TRAIN_KEYS",
    "current_key",
    "renamed_attribute",
    "renamed_fit_keywords",
    "renamed_train_keys",
]

#: Old key of ``train:`` -> its new name.
RENAMED_TRAIN_KEYS = {"weighting": "method", "weighting_options": "method_options"}


def renamed_train_keys(
    raw: dict[str, Any], problems: list[str], *, warn: bool = True
) -> dict[str, Any]:
    """``raw`` with the old keys of its ``train`` section under their new names (a copy).

    Args:
        raw: a whole configuration mapping (its ``train`` section may use old names).
        problems: where a key given under both names is reported.
        warn: warn once per old name (off for a ``config.yaml`` that manyheads wrote).

    Example:
        >>> problems = []
        >>> renamed_train_keys({"train": {"weighting": "uw"}}, problems, warn=False)
        {'train': {'method': 'uw'}}
    """
    section = raw.get("train")
    if not isinstance(section, dict) or not set(section) & set(RENAMED_TRAIN_KEYS):
        return raw
    section = dict(section)
    for old, new in RENAMED_TRAIN_KEYS.items():
        if old not in section:
            continue
        value = section.pop(old)
        if new in section:
            problems.append(
                f"'train.{old}' and 'train.{new}' are both given: '{old}' is the deprecated "
                f"name of '{new}'. Keep only 'train.{new}'."
            )
            continue
        if warn:
            warnings.warn(
                f"'train.{old}' is deprecated and will be removed in 0.3: use 'train.{new}'.",
                FutureWarning,
                stacklevel=4,
            )
        section[new] = value
    return {**raw, "train": section}


def renamed_fit_keywords(
    method: str | None, method_options: dict[str, Any] | None, extra: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """``fit``'s method and its options, taking the old keywords out of ``extra`` (its
    ``**train_settings``) with a warning each; ``ew`` when no method is named.

    Raises:
        ConfigError: an old keyword given with its new one.

    Example:
        >>> renamed_fit_keywords("uw", None, {"epochs": 2})
        ('uw', {})
    """
    given: dict[str, Any] = {"method": method, "method_options": method_options}
    for old, new in RENAMED_TRAIN_KEYS.items():
        if old not in extra:
            continue
        value = extra.pop(old)
        if given[new] is not None:
            raise ConfigError(
                [
                    f"fit() got both '{old}' and '{new}': '{old}' is the deprecated name of "
                    f"'{new}'. Pass only '{new}'."
                ]
            )
        warnings.warn(
            f"The '{old}' parameter of fit() is deprecated and will be removed in 0.3: "
            f"use '{new}'.",
            FutureWarning,
            stacklevel=3,
        )
        given[new] = value
    return str(given["method"] or "ew"), dict(given["method_options"] or {})


def renamed_attribute(old: str, new: str) -> None:
    """Warn that the attribute ``old`` of :class:`~manyheads.config.RunConfig` is now ``new``."""
    warnings.warn(
        f"'RunConfig.{old}' is deprecated and will be removed in 0.3: use 'RunConfig.{new}'.",
        FutureWarning,
        stacklevel=3,
    )


def current_key(dotted: str) -> str:
    """A flattened config key (``train.weighting_options.c``) under its current name.

    Example:
        >>> current_key("train.weighting_options.c"), current_key("train.lr")
        ('train.method_options.c', 'train.lr')
    """
    head, _, rest = dotted.partition(".")
    name, dot, tail = rest.partition(".")
    if head != "train" or name not in RENAMED_TRAIN_KEYS:
        return dotted
    return f"train.{RENAMED_TRAIN_KEYS[name]}{dot}{tail}"
