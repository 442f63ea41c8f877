"""Where manyheads writes, and the rule that keeps a user's files safe (README, "Command line").

A run directory holds a marker, ``.manyheads-run`` (written first), that names the files a run
writes (:data:`RUN_FILES`). ``--overwrite`` removes only those files, and only from a folder
that holds the marker; every other file there is kept. manyheads never writes into the working
directory itself, a folder above it, a folder that holds the run's config or data, or a
non-empty folder without the marker. Single output files (``predict -o``, ``eval -o``,
``dataset build -o``) are the job of :mod:`manyheads._output_file`, whose names are re-exported
here so that one import serves every writer.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from manyheads._output_file import (
    atomic_write,
    atomic_write_text,
    check_output_file,
    os_error,
    refuse_tilde,
    unwritable,
)
from manyheads.errors import InvalidParameterError

__all__ = [
    "COMPARE_FILES",
    "COMPARE_MARKER",
    "RUN_FILES",
    "RUN_MARKER",
    "atomic_write",
    "atomic_write_text",
    "check_output_dir",
    "check_output_file",
    "clear_owned",
    "data_paths",
    "os_error",
    "write_marker",
]

#: The marker file of a run directory (JSON: tool, kind, the patterns of the files it writes).
RUN_MARKER = ".manyheads-run"
#: The files a training run writes (``fnmatch`` patterns); ``--overwrite`` removes only these.
RUN_FILES: tuple[str, ...] = (
    RUN_MARKER,
    "config.yaml",
    "history.csv",
    "metrics.json",
    "model.json",
    "model.safetensors",
    "checkpoint.json",
    "last_checkpoint.json",
    "checkpoint-*.safetensors",
    "events.out.tfevents.*",
    "task_relations_history.json",
    "task_relations.json",
    "affinity.json",
    "eval-*.json",
    "model.onnx",
    "model.onnx.json",
    "export.json",
    "compress.json",
    "distill.json",
    "*.json.tmp",
    "*.safetensors.tmp",
    ".*.tmp",
)
#: The marker of a ``compare`` directory and the files ``compare`` writes next to its variants.
COMPARE_MARKER = ".manyheads-compare"
COMPARE_FILES: tuple[str, ...] = (
    COMPARE_MARKER,
    "comparison.json",
    "report.md",
    "report.html",
    ".*.tmp",
)


def data_paths(config: object) -> list[Path]:
    """The files a run config reads (``data.train/valid/test`` and each source's)."""
    data = getattr(config, "data", None)
    if data is None:
        return []
    holders = [data, *getattr(data, "sources", ())]
    out = []
    for holder in holders:
        for name in ("train", "valid", "test"):
            value = getattr(holder, name, None)
            if not isinstance(value, str) or not value:
                continue
            if value.startswith("sqlite:///"):
                value = value[len("sqlite:///") :]
            elif "://" in value:
                continue
            out.append(Path(value))
    return out


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _resolved(path: Path) -> Path:
    try:
        return path.expanduser().resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _marker_kind(directory: Path, marker: str) -> bool:
    path = directory / marker
    try:
        return path.is_file() and json.loads(path.read_text()).get("tool") == "manyheads"
    except (OSError, ValueError, AttributeError):
        return False


def _owned(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def check_output_dir(
    directory: str | Path,
    *,
    setting: str = "output",
    protect: Iterable[str | Path] = (),
    marker: str = RUN_MARKER,
    allow: Callable[[Path], bool] | None = None,
) -> Path:
    """Refuse an output folder that would put a user's files at risk; return it as a Path.

    Nothing is written here: the checks run before any data is read.

    Args:
        directory: the output folder.
        setting: the name of the setting, for the message.
        protect: files the run reads (its config, its data): a folder holding one is refused.
        marker: the marker that makes a non-empty folder manyheads's own.
        allow: a non-empty folder without the marker for which this returns True is accepted
            (an unfinished run of an older version that ``--resume`` continues).

    Raises:
        InvalidParameterError: the folder is empty-named, ``.``, above the working directory,
            holds a protected file, is a file, is not writable, or is a non-empty folder that
            manyheads did not write.

    Example:
        >>> check_output_dir(".")
        Traceback (most recent call last):
        ...
        manyheads.errors.InvalidParameterError: The 'output' setting is '.', the working \
directory (or a folder above it): manyheads writes a run into a folder of its own and never \
into (or over) the folder you work in. Set 'output' to a new folder, e.g. output=runs/my-run.
    """
    text = str(directory)
    _refuse_name(text, setting)
    path = Path(text)
    _refuse_place(path, text, setting, protect)
    if path.is_dir():
        _refuse_foreign_folder(path, text, setting, marker, allow)
    _refuse_unwritable(path, text, setting)
    return path


def _refuse_name(text: str, setting: str) -> None:
    """An empty name, or one starting with ``~``."""
    if not text.strip():
        raise InvalidParameterError(
            f"The '{setting}' setting is empty: the run would train and save nothing. Set it to "
            "a new folder, e.g. output=runs/my-run."
        )
    refuse_tilde(text, f"The '{setting}' setting", f"e.g. {setting}=runs/my-run")


def _refuse_place(path: Path, text: str, setting: str, protect: Iterable[str | Path]) -> None:
    """The working directory or a folder above it, a file, or a folder holding a read file."""
    full = _resolved(path)
    if _within(_resolved(Path.cwd()), full):
        raise InvalidParameterError(
            f"The '{setting}' setting is {text!r}, the working directory (or a folder above it): "
            "manyheads writes a run into a folder of its own and never into (or over) the folder "
            f"you work in. Set '{setting}' to a new folder, e.g. {setting}=runs/my-run."
        )
    if path.exists() and not path.is_dir():
        raise InvalidParameterError(
            f"The '{setting}' setting {text!r} is an existing file, not a folder. Set "
            f"'{setting}' to a new folder, e.g. {setting}=runs/my-run."
        )
    for file in protect:
        if _within(_resolved(Path(file)), full):
            raise InvalidParameterError(
                f"The '{setting}' folder {text!r} holds {str(file)!r}, a file this run reads "
                f"(its config or data): manyheads never writes a run over your files. Set "
                f"'{setting}' to a new folder, e.g. {setting}=runs/my-run."
            )


def _refuse_foreign_folder(
    path: Path, text: str, setting: str, marker: str, allow: Callable[[Path], bool] | None
) -> None:
    """A non-empty folder without ``marker`` (and not accepted by ``allow``)."""
    try:
        entries = [e.name for e in os.scandir(path)]
    except OSError as exc:
        raise InvalidParameterError(str(os_error(exc, path, "read the output folder"))) from None
    if not entries or _marker_kind(path, marker) or (allow and allow(path)):
        return
    shown = ", ".join(sorted(entries)[:5]) + (", ..." if len(entries) > 5 else "")
    # the folder of the other kind (a comparison where a run goes, or the reverse)
    kinds = {RUN_MARKER: "run", COMPARE_MARKER: "comparison"}
    for other, kind in kinds.items():
        if other != marker and marker in kinds and _marker_kind(path, other):
            raise InvalidParameterError(
                f"The '{setting}' folder {text!r} holds a manyheads {kind}, not a "
                f"{kinds[marker]}: nothing in it is replaced, --overwrite or not. Set "
                f"'{setting}' to a new or empty folder."
            )
    raise InvalidParameterError(
        f"The '{setting}' folder {text!r} already holds files ({shown}) and no "
        f"{marker} marker: it is not a folder manyheads wrote, so nothing in it is "
        f"replaced, --overwrite or not. Set '{setting}' to a new or empty folder."
    )


def _refuse_unwritable(path: Path, text: str, setting: str) -> None:
    """The nearest existing folder of ``path`` is a file, or cannot be written."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    problem = "a file, not a folder" if not existing.is_dir() else unwritable(existing)
    if problem:
        raise InvalidParameterError(
            f"The '{setting}' folder {text!r} cannot be created or written: {str(existing)!r} is "
            f"{problem}. Choose a folder you can write to."
        )


def write_marker(directory: Path, *, marker: str = RUN_MARKER, kind: str = "run") -> None:
    """Create ``directory`` and write its marker first (before any other file)."""
    from manyheads import __version__

    files = RUN_FILES if marker == RUN_MARKER else COMPARE_FILES
    body = {"tool": "manyheads", "kind": kind, "version": __version__, "files": list(files)}
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(exc, directory, "create the output folder") from None
    atomic_write_text(directory / marker, json.dumps(body, indent=1) + "\n")


def clear_owned(
    directory: Path, *, marker: str = RUN_MARKER, subdirs: Callable[[Path], bool] | None = None
) -> list[str]:
    """Remove the files manyheads writes from ``directory`` (never any other file).

    Only a folder holding ``marker`` is touched. ``subdirs(path)`` says which sub-folders to
    clear in turn (``compare``'s variant runs); a sub-folder left empty is removed.

    Returns:
        The names removed.
    """
    if not _marker_kind(directory, marker):
        return []
    patterns = RUN_FILES if marker == RUN_MARKER else COMPARE_FILES
    removed = []
    for entry in sorted(directory.iterdir()):
        try:
            if entry.is_dir() and not entry.is_symlink():
                if subdirs is not None and subdirs(entry):
                    removed += [f"{entry.name}/{n}" for n in clear_owned(entry)]
                    if not any(entry.iterdir()):
                        entry.rmdir()
                continue
            if _owned(entry.name, patterns) and entry.name != marker:
                entry.unlink()
                removed.append(entry.name)
        except OSError as exc:
            raise os_error(exc, entry, "remove the old run's file") from None
    return removed
