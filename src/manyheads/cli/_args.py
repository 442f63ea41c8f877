"""The command-line arguments several subcommands share, each defined once.

A verb's ``add_arguments(parser)`` calls these functions in the order ``--help`` lists the
arguments. What differs between verbs (a help text, a default) is a parameter; what every verb
gets alike (the ``action``, ``type``, ``choices``) is fixed here.
"""

from __future__ import annotations

import argparse

__all__ = [
    "add_config",
    "add_engine",
    "add_flag",
    "add_listen",
    "add_max_drop",
    "add_output",
    "add_run_dir",
    "add_seed",
    "add_yaml_config",
]

#: The ``overrides`` help of the verbs that take a run config.
OVERRIDES_HELP = (
    "override config keys, e.g. train.epochs=3 model.hidden=[64,32] "
    "(precedence: defaults < file < command line)"
)
#: The ``RUN`` help of the verbs that read a trained run.
RUN_HELP = "a run directory or model bundle"


def add_config(
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
        >>> add_config(p)
        >>> p.parse_args(["cfg.yaml", "train.epochs=3"])
        Namespace(config='cfg.yaml', overrides=['train.epochs=3'])
    """
    p.add_argument("config", metavar=metavar, help=help)
    p.add_argument("overrides", nargs="*", metavar=overrides_metavar, help=overrides_help)


def add_yaml_config(
    p: argparse.ArgumentParser, name: str, help: str, example: str, note: str = ""
) -> None:
    """``NAME.yaml [KEY=VALUE ...]``: a verb's own YAML config (not a run config), then
    overrides of its keys; ``example`` is one override, ``note`` ends the overrides' help.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_yaml_config(p, "CRAWL", "the crawl config", "limits.max_pages=100")
        >>> p.parse_args(["c.yaml", "limits.max_pages=5"]).overrides
        ['limits.max_pages=5']
    """
    add_config(
        p,
        metavar=f"{name}.yaml",
        help=help,
        overrides_metavar="KEY=VALUE",
        overrides_help=f"override config keys, e.g. {example} (values are YAML){note}",
    )


def add_run_dir(
    p: argparse.ArgumentParser, help: str = RUN_HELP, *, optional: bool = False
) -> None:
    """``RUN``: the trained run (or model bundle) a verb reads, as ``args.run_dir`` (with
    ``optional``, it may be left out: None)."""
    p.add_argument("run_dir", metavar="RUN", nargs="?" if optional else None, help=help)


def add_output(
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


def add_seed(p: argparse.ArgumentParser, help: str) -> None:
    """``--seed N`` (default 0)."""
    p.add_argument("--seed", type=int, default=0, help=help)


def add_engine(p: argparse.ArgumentParser, help: str) -> None:
    """``--engine``: run the network in PyTorch (default) or its ONNX export in onnxruntime."""
    p.add_argument("--engine", choices=("torch", "onnxruntime"), default="torch", help=help)


def add_max_drop(p: argparse.ArgumentParser, *, default: float | None, help: str) -> None:
    """``--max-drop X`` (the most a task's primary metric may drop) and ``--force``."""
    p.add_argument("--max-drop", type=float, default=default, help=help)
    add_flag(p, "--force", "write the bundle above --max-drop too")


def add_listen(p: argparse.ArgumentParser, *, port: int, host_help: str, port_help: str) -> None:
    """``--host`` (default 127.0.0.1) and ``--port``: where a server listens."""
    p.add_argument("--host", default="127.0.0.1", help=host_help)
    p.add_argument("--port", type=int, default=port, help=port_help)
