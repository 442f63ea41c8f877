"""``manyheads robustness RUN [RUN ...] DATA -o DIR``: every task under input corruption.

RUN is a run directory (or model bundle) or a ``compare`` output folder, whose variants are
then compared side by side (each variant's seeds averaged). DATA is a labelled file, or
``test`` / ``valid``: that split of the first run's own data (a built-in dataset included).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from manyheads.cli._args import add_flag, add_output, add_seed
from manyheads.cli._common import comma_list, say

if TYPE_CHECKING:
    import pandas as pd

    from manyheads.workflow._run import Run

__all__ = ["HELP", "add_arguments", "run"]

#: The marker of a folder ``robustness`` wrote (its files: robustness.json / .md / -*.png).
MARKER = ".manyheads-robustness"


#: What ``manyheads --help`` says of the verb.
HELP = "score runs under input corruption (noise, dropout, typos) at several strengths"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads robustness``, in the order ``--help`` lists them."""
    p.add_argument(
        "paths",
        nargs="+",
        metavar="RUN [RUN ...] DATA",
        help="run directories, bundles or compare folders, then the labelled data: a file, "
        "or 'test' / 'valid' for that split of the first run's own data",
    )
    add_output(p, "folder for the report", required=True)
    p.add_argument(
        "--strengths",
        default="0.1,0.2,0.4",
        help="comma-separated strengths (0, the clean data, is always added; default: "
        "0.1,0.2,0.4): noise std in column stds / pixel ranges, or a share of cells / words",
    )
    p.add_argument(
        "--corruptions",
        help="comma-separated corruptions (default: every one that applies to the inputs): "
        "gaussian, category_dropout, word_dropout, typos, pixel_noise",
    )
    add_seed(p, "seed of the corruptions (default 0)")
    add_flag(p, "--overwrite", "replace the report of an earlier robustness run")


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the table, write ``robustness.json``, ``robustness.md`` and the plots."""
    from manyheads.errors import InvalidParameterError
    from manyheads.robustness import robustness, table, write_outputs

    if len(args.paths) < 2:
        raise InvalidParameterError(
            "robustness needs at least one RUN and the DATA to score it on, e.g. manyheads "
            "robustness runs/compare test -o runs/robust."
        )
    *run_paths, data = args.paths
    out = _check_output(Path(args.output), args.overwrite, [*run_paths, data])
    strengths = _floats(args.strengths)
    corruptions = None if args.corruptions is None else comma_list(args.corruptions)
    runs = _variants(run_paths)
    frame = _data(data, runs)
    say(f"robustness: {sum(map(len, runs.values()))} run(s) on {len(frame)} rows of {data}")
    result = robustness(runs, frame, strengths=strengths, corruptions=corruptions, seed=args.seed)
    _write_marker(out)
    written = write_outputs(result, out)
    print(table(result))
    print(
        "\ndrop % = the change of the task's primary metric against the clean rows, in % of the "
        "clean value (positive: worse). Lower mean drop = more robust."
    )
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _floats(text: str) -> list[float]:
    from manyheads.errors import InvalidParameterError

    try:
        return [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise InvalidParameterError(
            f"--strengths must be comma-separated numbers, e.g. 0.1,0.2,0.4. Got {text!r}."
        ) from None


def _check_output(out: Path, overwrite: bool, protect: list[str]) -> Path:
    """The report folder: new, empty, or one robustness wrote (replaced with --overwrite)."""
    from manyheads._files import check_output_dir
    from manyheads.errors import InvalidParameterError

    check_output_dir(out, setting="-o/--output", protect=protect, marker=MARKER)
    if (out / "robustness.json").exists() and not overwrite:
        raise InvalidParameterError(
            f"The folder '{out}' already holds a robustness report. Pass --overwrite to replace "
            "it, or choose another -o/--output."
        )
    return out


def _write_marker(out: Path) -> None:
    from manyheads import __version__
    from manyheads._files import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    body = {
        "tool": "manyheads",
        "kind": "robustness",
        "version": __version__,
        "files": [MARKER, "robustness.json", "robustness.md", "robustness-*.png"],
    }
    atomic_write_text(out / MARKER, json.dumps(body, indent=1) + "\n")


def _variants(paths: list[str]) -> dict[str, list[Run]]:
    """Variant name -> runs: a compare folder gives its variants (seeds grouped), a run its
    folder's name."""
    from manyheads.compress._bundle import refuse_torch_engine
    from manyheads.errors import DataError
    from manyheads.workflow._run import load as load_run

    def load(directory: Path) -> Run:
        refuse_torch_engine(directory)  # an int8 bundle's safetensors are not its network
        return load_run(directory)

    runs: dict[str, list[Run]] = {}
    for text in paths:
        path = Path(text)
        listing = path / "comparison.json"
        if listing.is_file():
            try:
                variants = json.loads(listing.read_text(encoding="utf-8"))["variants"]
                pairs = [(v["name"], Path(r)) for v in variants for r in v["runs"]]
            except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                raise DataError(
                    f"cannot read the comparison's list of runs ({exc}).", path=str(listing)
                ) from None
            for name, run_dir in pairs:
                # a comparison moved since it ran: its runs are next to comparison.json
                found = run_dir if run_dir.is_dir() else path / run_dir.name
                runs.setdefault(name, []).append(load(found))
        else:
            name = path.resolve().name
            if name in runs:
                name = str(path)
            runs.setdefault(name, []).append(load(path))
    return runs


def _data(text: str, runs: dict[str, list[Run]]) -> pd.DataFrame:
    """The labelled rows: a file, or the ``test`` / ``valid`` split of the first run's data."""
    from manyheads.data.io import read_table

    if text in ("test", "valid") and not Path(text).exists():
        return _own_split(text, next(iter(runs.values()))[0])
    return read_table(text)


def _own_split(split: str, first: Run) -> pd.DataFrame:
    from manyheads.config.load import load_config
    from manyheads.errors import InvalidParameterError
    from manyheads.workflow._splits import load_splits

    directory = first.directory
    path = None if directory is None else directory / "config.yaml"
    if path is None or not path.exists():
        raise InvalidParameterError(
            f"DATA '{split}' means the {split} split of the run's own data, but the run "
            f"'{directory}' has no config.yaml naming it. Pass a labelled file instead."
        )
    config = load_config(path, hardware=False, saved_run=True)
    if config.data.train is None and not config.data.dataset:
        raise InvalidParameterError(
            f"The run '{directory}' was trained from a DataFrame: its config.yaml names no data. "
            "Pass a labelled file as DATA."
        )
    splits, _ = load_splits(config)
    frame = splits.test if split == "test" else splits.valid
    if frame is None:
        raise InvalidParameterError(
            f"The data of the run '{directory}' has no test split. Use 'valid', or pass a file."
        )
    return frame
