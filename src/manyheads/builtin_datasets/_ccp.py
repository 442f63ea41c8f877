"""What the click -> purchase datasets (``ali-ccp``, ``synthetic-ccp``) share: the ``click`` and
``purchase`` tasks, and train / valid / test frames numbered from 1 and named for errors."""

from __future__ import annotations

import pandas as pd

from manyheads.builtin_datasets._registry import DatasetSplits
from manyheads.tasks.task import Task

__all__ = ["CCP_TASKS", "ccp_splits"]

#: ``click`` (CTR) and ``purchase`` (click and purchase: CTCVR), on every impression.
CCP_TASKS = (Task("click", type="binary"), Task("purchase", type="binary"))


def ccp_splits(
    name: str,
    parts: dict[str, pd.DataFrame],
    *,
    where: str,
    inputs: dict[str, str],
    description: str,
) -> DatasetSplits:
    """The ``train``, ``valid`` and ``test`` frames of ``parts`` with the :data:`CCP_TASKS`;
    each frame's index is its 1-based row and its ``attrs["path"]`` is ``"{where}:{split}"``.

    Example:
        >>> parts = {k: pd.DataFrame({"f": [1, 2]}) for k in ("train", "valid", "test")}
        >>> data = ccp_splits("toy", parts, where="<toy>", inputs={"f": "numeric"}, description="")
        >>> list(data.test.index), data.test.attrs["path"], [t.name for t in data.tasks]
        ([1, 2], '<toy>:test', ['click', 'purchase'])
    """
    frames = {split: _numbered(frame, f"{where}:{split}") for split, frame in parts.items()}
    return DatasetSplits(
        name=name,
        train=frames["train"],
        valid=frames["valid"],
        test=frames["test"],
        tasks=CCP_TASKS,
        inputs=inputs,
        description=description,
    )


def _numbered(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    frame.attrs["path"] = where
    return frame
