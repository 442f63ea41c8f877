"""The rows an export is checked on: a seeded sample of the run's own data, or given rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from manyheads.errors import DataError, ManyheadsError
from manyheads.workflow._run import Data, Run, as_frame

__all__ = ["sample_rows"]


def _run_split(run: Run) -> tuple[pd.DataFrame, str]:
    """The run's test split if it has one, else its validation split, from its config."""
    from manyheads.config.load import load_config
    from manyheads.workflow._splits import load_splits

    assert run.directory is not None
    config_path = run.directory / "config.yaml"
    if not config_path.exists():
        raise DataError(
            "holds no config.yaml, so the run's own data is unknown. Pass rows for the parity "
            "check with --data FILE.",
            path=str(run.directory),
        )
    try:
        # a streamed run: the rows held out among its first rows (no pass over the table)
        splits, _ = load_splits(load_config(config_path, hardware=False), preview=True)
    except (ManyheadsError, OSError) as exc:
        raise DataError(
            f"cannot read the run's data for the parity check ({exc}). Pass rows with --data FILE.",
            path=str(config_path),
        ) from None
    if splits.test is not None and len(splits.test):
        return splits.test, "the test split"
    return splits.valid, "the validation split"


def sample_rows(run: Run, data: Data | None, n_rows: int) -> tuple[pd.DataFrame, str]:
    """Up to ``n_rows`` rows (a seeded sample, in file order) and where they came from.

    Args:
        run: the run being exported.
        data: rows to use (a frame or a file); None for the run's own test or validation split.
        n_rows: the most rows to take.

    Raises:
        DataError: no rows (an empty file, or a run without a directory and no ``data``).
    """
    if data is not None:
        frame = as_frame(data)
        source = str(data) if isinstance(data, str | Path) else "the given rows"
    elif run.directory is not None:
        frame, source = _run_split(run)
    else:
        raise DataError("the run has no directory and no data was given: pass rows with data=.")
    if len(frame) == 0:
        raise DataError("holds no rows to check the exported graph on.", path=source)
    if len(frame) > n_rows:
        frame = frame.sample(n=n_rows, random_state=0).sort_index()
    return frame, source
