"""``manyheads validate CONFIG``: report every problem of a config and its data at once."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_config, add_flag

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "check a config and its data without training"
#: What ``manyheads validate --help`` says before the arguments.
DESCRIPTION = (
    "Binds every key to its schema and range, builds the balancing method and "
    "the model on a dry run (no training, no data pass), checks the device, and checks the "
    "data (columns, task types against the column values, numeric inputs). Exit 0 if "
    "'train' will start, 2 with every problem listed otherwise."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads validate``, in the order ``--help`` lists them."""
    add_config(p)
    add_flag(p, "--no-data", "check the config and dry run only, not the data")


def run(args: argparse.Namespace) -> int:
    """Validate, print OK and a summary, or raise a ConfigError listing every problem."""
    from manyheads.config.load import load_config
    from manyheads.config.validate import validate_data
    from manyheads.errors import ConfigError

    # the dry run's problems come with every other problem of the config
    config = load_config(args.config, args.overrides, dry_run=True)
    summary: list[str] = []
    if not args.no_data:
        problems, summary = validate_data(config)
        if problems:
            raise ConfigError(problems, source=args.config)
    for line in summary:
        print(line)
    print(f"{args.config}: OK")
    return 0
