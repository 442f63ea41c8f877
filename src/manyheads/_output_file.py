"""Single output files (``predict -o``, ``eval -o``, ``dataset build -o``) and OS errors.

A single output file is written to a temporary file in the same folder and renamed, and an
existing file is replaced only with ``--overwrite``. Every ``OSError`` at these boundaries
becomes a :class:`~manyheads.errors.DataError` naming the path. Run folders, which hold many
files, are the job of :mod:`manyheads._files`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manyheads.errors import DataError, InvalidParameterError

__all__ = [
    "atomic_write",
    "atomic_write_text",
    "check_output_file",
    "os_error",
    "refuse_tilde",
    "unwritable",
]


def os_error(exc: OSError, path: str | Path, doing: str) -> DataError:
    """A :class:`DataError` naming ``path``, what failed and the fix, for an ``OSError``.

    Example:
        >>> print(os_error(PermissionError(13, "Permission denied"), "out.csv", "write"))
        out.csv: cannot write: permission denied. Choose a folder you can write to.
    """
    reason = (exc.strerror or exc.__class__.__name__).lower()
    fixes = {
        "PermissionError": "Choose a folder you can write to.",
        "IsADirectoryError": "Name a file, not a folder.",
        "NotADirectoryError": "A part of the path is a file, not a folder: fix the path.",
        "FileNotFoundError": "Create the folder first, or fix the path.",
    }
    fix = fixes.get(exc.__class__.__name__, "")
    if getattr(exc, "errno", None) == 28:  # ENOSPC
        fix = "Free some disk space, or write elsewhere."
    return DataError(f"cannot {doing}: {reason}.{' ' + fix if fix else ''}", path=str(path))


def unwritable(folder: Path) -> str:
    """'' if a file can be created in ``folder``, else why not (a probe created and removed:
    permission bits alone do not tell, e.g. for root or on a read-only mount)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        return "not writable"
    probe = folder / f".manyheads-probe-{os.getpid()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except FileExistsError:
        return ""
    except OSError as exc:
        return f"not writable ({(exc.strerror or exc.__class__.__name__).lower()})"
    return ""


def refuse_tilde(text: str, what: str, example: str) -> None:
    """A path starting with ``~`` (quoted, or from a config file) is not the home folder:
    written as is, it would create a folder named ``~`` in the working directory."""
    if text.startswith("~"):
        raise InvalidParameterError(
            f"{what} is {text!r}: manyheads does not expand '~' (only a shell does, for an "
            "unquoted word), so it would write into a folder named '~' here. Give the full "
            f"path (e.g. {str(Path(text).expanduser())!r}) or a relative one, {example}."
        )


def check_output_file(
    path: str | Path,
    *,
    overwrite: bool,
    extensions: tuple[str, ...] | None = None,
    owned: bool = False,
    option: str = "-o",
) -> Path:
    """Refuse an output file that cannot be written, or would replace a user's file.

    Args:
        path: the file to write.
        overwrite: ``--overwrite`` was given (replace an existing file).
        extensions: the accepted endings (lower case, with the dot), if limited.
        owned: the file is one manyheads writes (``eval-*.json`` in a run directory): an
            existing one is replaced without ``--overwrite``.
        option: the option that named the path, for the message.

    Raises:
        DataError: naming the path, what is wrong and the fix.

    Example:
        >>> check_output_file("out.xlsx", overwrite=False, extensions=(".csv", ".parquet"))
        Traceback (most recent call last):
        ...
        manyheads.errors.DataError: out.xlsx: cannot write this file type. Accepted \
extensions for -o: .csv, .parquet.
    """
    out = Path(path)
    if not str(path).strip():
        raise DataError(f"{option} is empty: name the file to write.", path=str(path))
    refuse_tilde(str(path), option, "e.g. -o out.csv")
    if out.is_dir():
        raise DataError(f"is a folder; {option} names a file to write.", path=str(path))
    name = out.name.lower()
    if extensions is not None and not name.endswith(extensions):
        raise DataError(
            f"cannot write this file type. Accepted extensions for {option}: "
            f"{', '.join(extensions)}.",
            path=str(path),
        )
    _check_parent(out, str(path))
    if out.exists() and not overwrite and not owned:
        raise DataError(
            "already exists. Pass --overwrite to replace it, or choose another name.",
            path=str(path),
        )
    return out


def _check_parent(out: Path, where: str) -> None:
    """The folder of ``out`` exists, is a folder, and a file can be created in it."""
    parent = out.parent
    if not parent.exists():
        raise DataError(
            f"the folder {str(parent)!r} does not exist. Create it first, or write elsewhere.",
            path=where,
        )
    if not parent.is_dir():
        raise DataError(f"{str(parent)!r} is a file, not a folder: fix the path.", path=where)
    problem = unwritable(parent)
    if problem:
        raise DataError(
            f"the folder {str(parent)!r} is {problem}. Choose a folder you can write to.",
            path=where,
        )


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the same folder; on success rename it to ``path``.

    On any error the temporary file is removed and ``path`` is left as it was; an ``OSError``
    becomes a :class:`DataError` naming ``path``.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> with atomic_write(out) as tmp:
        ...     _ = tmp.write_text("hi")
        >>> out.read_text()
        'hi'
    """
    out = Path(path)
    # a hidden name in the same folder (a rename across file systems is not atomic), created
    # by the writer with the usual permissions
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_error(exc, out, "write") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file and a rename."""
    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
