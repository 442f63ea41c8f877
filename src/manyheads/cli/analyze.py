"""``manyheads analyze RUN``: task gradient cosine similarities and conflict rates of a run, and
the lookahead affinity it recorded while training (``train.affinity_every``) with a suggested
grouping of the tasks."""

from __future__ import annotations

import argparse

from manyheads.cli._args import add_run_dir

__all__ = ["HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "pairwise task gradient cosine and conflict rate of a trained run"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads analyze``, in the order ``--help`` lists them."""
    add_run_dir(p, "a run directory written by train / fit")
    p.add_argument("--data", help="labelled data to use (default: the run's training data)")
    p.add_argument("--batch-size", type=int, default=256, help="rows per batch")
    p.add_argument("--max-batches", type=int, default=50, help="batches to analyse")
    p.add_argument(
        "--groups",
        type=int,
        default=None,
        metavar="K",
        help="suggest a grouping of the tasks into K groups from the recorded affinity "
        "(3 tasks or more; default 2)",
    )


def run(args: argparse.Namespace) -> int:
    """Write ``task_relations.json`` and ``task_relations.png`` into the run directory."""
    from pathlib import Path

    from manyheads.data.io import read_table
    from manyheads.errors import InvalidParameterError
    from manyheads.workflow._affinity import format_affinity, load_affinity
    from manyheads.workflow._analysis import plot_relations, task_relations
    from manyheads.workflow._fit import load

    directory = Path(args.run_dir)
    model = load(directory)  # a run or bundle: checked before any data is read
    affinity = load_affinity(directory)
    n_tasks = len(model.tasks)
    if args.groups is not None and not 1 <= args.groups <= n_tasks:
        raise InvalidParameterError(
            f"--groups must be an int in 1..{n_tasks} (the run's number of tasks). "
            f"Got {args.groups} instead."
        )
    if args.groups is not None and affinity is None:
        raise InvalidParameterError(
            f"--groups needs the affinity recorded while training, and '{directory}' has no "
            "affinity.json. Train with train.affinity_every=N (e.g. 10) to record it."
        )
    if args.data:
        frame = read_table(args.data)
    else:
        config_path = directory / "config.yaml"
        from manyheads.config.load import load_config
        from manyheads.workflow._splits import load_splits

        config = (
            load_config(config_path, hardware=False, saved_run=True)
            if config_path.exists()
            else None
        )
        if config is None or (
            config.data.train is None and not config.data.dataset and not config.data.sources
        ):
            raise InvalidParameterError(
                f"The run '{directory}' does not name its training data in config.yaml (it was "
                "trained from a DataFrame). Pass the data with --data FILE."
            )
        frame = load_splits(config)[0].train
    relations = task_relations(
        model, frame, batch_size=args.batch_size, max_batches=args.max_batches
    )
    (directory / "task_relations.json").write_text(relations.to_json())
    plot_relations(relations, directory / "task_relations.png")
    names = relations.tasks
    width = max(len(t) for t in names)
    print(f"cosine (conflict rate) over {relations.n_batches} batches:")
    for i, a in enumerate(names):
        cells = [
            f"{relations.cosine[i][j]:+.2f} ({relations.conflict_rate[i][j]:.0%})"
            for j in range(len(names))
        ]
        print(f"{a:>{width}}  " + "  ".join(cells))
    print(f"wrote {directory / 'task_relations.json'} and {directory / 'task_relations.png'}")
    if affinity is None:
        print("no affinity.json: train with train.affinity_every=N to record the affinity")
    else:
        print("\n".join(format_affinity(affinity, args.groups)))
    return 0
