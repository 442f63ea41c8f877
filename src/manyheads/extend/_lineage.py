"""The lineage of a model grown by add-task, kept in its ``model.json`` under ``lineage``: the
source run and its weights' sha256, the added task, the unfreeze mode, the settings and date."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

from manyheads.extend._settings import AddTaskSettings
from manyheads.tasks.task import Task
from manyheads.workflow._bundle_weights import bundle_weights_sha256, file_sha256

__all__ = ["file_sha256", "lineage"]


def lineage(
    source: Path | None,
    task: Task,
    unfreeze: str,
    settings: AddTaskSettings,
    parent: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``lineage`` entry of the grown model (``parent``: the source's own lineage, if it
    was grown too). A source trained in memory, never saved, has no path and no digest."""
    from manyheads import __version__

    return {
        "source": str(source.resolve()) if source is not None else None,
        "source_weights_sha256": bundle_weights_sha256(source),
        "added_task": task.to_dict(),
        "unfreeze": unfreeze,
        "settings": dataclasses.asdict(settings),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "manyheads": __version__,
        "parent": parent,
    }
