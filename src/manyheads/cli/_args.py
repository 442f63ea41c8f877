"""The command-line arguments several subcommands share, each defined once.

A verb's ``add_parser`` calls :func:`verb_parser` for its parser, then these functions in the
order ``--help`` lists the arguments. What differs between verbs (a help text, a default) is a
parameter; what every verb gets alike (the ``action``, ``type``, ``choices``) is fixed here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from manyheads.cli._common import Subparsers

__all__ = [
    "add_config_arguments",
    "add_engine_argument",
    "add_flag",
    "add_listen_arguments",
    "add_max_drop_arguments",
    "add_output_argument",
    "add_run_argument",
    "add_seed_argument",
    "verb_parser",
]

#: The ``overrides`` help of the verbs that take a run config.
OVERRIDES_HELP = (
    "override config keys, e.g. train.epochs=3 model.hidden=[64,32] "
    "(precedence: defaults < file < command line)"
)
#: The ``RUN`` help of the verbs that read a trained run.
RUN_HELP = "a run directory or model bundle"


def verb_parser(
    subparsers: Subparsers,
    name: str,
    run: Callable[[argparse.Namespace], int],
    *,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """Register the subcommand ``name``, which ``run(args) -> exit code`` carries out.

    Example:
        >>> parser = argparse.ArgumentParser(prog="manyheads")
        >>> p = verb_parser(parser.add_subparsers(), "ls", lambda args: 0, help="list")
        >>> p.prog, p.parse_args([]).func(None)
        ('manyheads ls', 0)
    """
    p: argparse.ArgumentParser = subparsers.add_parser(name, help=help, description=description)
    p.set_defaults(func=run)
    return p


def add_config_arguments(
    p: argparse.ArgumentParser,
    *,
    metavar: str | None = None,
    help: str = "the run's YAML config file",
    overrides_metavar: str = "key=value",
    overrides_help: str = OVERRIDES_HELP,
) -> None:
    """``CONFIG [key=value ...]``: the config file, then overrides of its keys.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_config_arguments(p)
        >>> p.parse_args(["cfg.yaml", "train.epochs=3"])
        Namespace(config='cfg.yaml', overrides=['train.epochs=3'])
    """
    p.add_argument("config", metavar=metavar, help=help)
    p.add_argument("overrides", nargs="*", metavar=overrides_metavar, help=overrides_help)


def add_run_argument(p: argparse.ArgumentParser, help: str = RUN_HELP) -> None:
    """``RUN``: the trained run (or model bundle) a verb reads, as ``args.run_dir``."""
    p.add_argument("run_dir", metavar="RUN", help=help)


def add_output_argument(
    p: argparse.ArgumentParser,
    help: str,
    *,
    required: bool = False,
    metavar: str | None = None,
    default: str | None = None,
) -> None:
    """``-o/--output``: where a verb writes (a file or a folder, as ``help`` says)."""
    p.add_argument("-o", "--output", required=required, metavar=metavar, default=default, help=help)


def add_flag(p: argparse.ArgumentParser, flag: str, help: str) -> None:
    """An on/off option such as ``--overwrite``, ``--quiet`` or ``--resume`` (off by default).

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_flag(p, "--keep-checkpoint", "keep it")
        >>> p.parse_args(["--keep-checkpoint"]).keep_checkpoint, p.parse_args([]).keep_checkpoint
        (True, False)
    """
    p.add_argument(flag, action="store_true", help=help)


def add_seed_argument(p: argparse.ArgumentParser, help: str) -> None:
    """``--seed N`` (default 0)."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_engine_argument(p: argparse.ArgumentParser, help: str) -> None:
    """``--engine``: run the network in PyTorch (default) or its ONNX export in onnxruntime."""
    p.add_argument("--engine", choices=("torch", "onnxruntime"), default="torch", help=help)


def add_max_drop_arguments(p: argparse.ArgumentParser, *, default: float | None, help: str) -> None:
    """``--max-drop X`` (the most a task's primary metric may drop) and ``--force``."""
    p.add_argument("--max-drop", type=float, default=default, help=help)
    add_flag(p, "--force", "write the bundle above --max-drop too")


def add_listen_arguments(
    p: argparse.ArgumentParser, *, port: int, host_help: str, port_help: str
) -> None:
    """``--host`` (default 127.0.0.1) and ``--port``: where a server listens."""
    p.add_argument("--host", default="127.0.0.1", help=host_help)
    p.add_argument("--port", type=int, default=port, help=port_help)
