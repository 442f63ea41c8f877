"""Loop subscribers: a live progress bar, TensorBoard scalars and ``history.csv``."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from manyheads.engine.events import Events

__all__ = ["attach_history", "attach_progress", "attach_tensorboard"]


def attach_progress(events: Events, *, quiet: bool, log: Callable[[str], None] = print) -> None:
    """A rich progress bar with live per-task losses on a TTY; one line per epoch otherwise."""
    if quiet:
        return
    if not sys.stderr.isatty():
        events.connect("epoch_end", lambda epoch, record, **_: log(_epoch_line(epoch, record)))
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("epoch {task.fields[epoch]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[losses]}"),
        transient=False,
    )
    state: dict[str, Any] = {}

    def start(n_epochs: int, n_batches: int, start_epoch: int, **_: object) -> None:
        progress.start()
        state["bar"] = progress.add_task("train", total=n_batches, epoch=start_epoch, losses="")

    def step(epoch: int, step: int, losses: dict[str, float], **_: object) -> None:
        text = " ".join(f"{k}={v:.4f}" for k, v in losses.items())
        progress.update(state["bar"], advance=1, epoch=epoch, losses=text)

    def epoch_end(epoch: int, record: dict[str, float], **_: object) -> None:
        progress.console.print(_epoch_line(epoch, record))
        progress.reset(state["bar"])

    events.connect("train_start", start)
    events.connect("step_end", step)
    events.connect("epoch_end", epoch_end)
    events.connect("train_end", lambda **_: progress.stop())


def _epoch_line(epoch: int, record: dict[str, float]) -> str:
    parts = [f"epoch {epoch}"]
    parts += [f"{k}={v:.4f}" for k, v in record.items() if k.startswith(("train_loss", "valid_"))]
    return "  ".join(parts)


def attach_tensorboard(events: Events, directory: Path) -> None:
    """Write every epoch record as TensorBoard scalars into ``directory``."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(directory))

    def epoch_end(epoch: int, record: dict[str, float], **_: object) -> None:
        for key, value in record.items():
            if key != "epoch":
                writer.add_scalar(key, value, epoch)
        writer.flush()

    events.connect("epoch_end", epoch_end)
    events.connect("train_end", lambda **_: writer.close())


def attach_history(events: Events, path: Path) -> None:
    """Rewrite ``history.csv`` after every epoch (one row per epoch, resumed runs included)."""

    def epoch_end(history: list[dict[str, float]], **_: object) -> None:
        if not history:
            return
        keys = list(history[0])
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=keys)
            writer.writeheader()
            writer.writerows(history)
        tmp.replace(path)

    events.connect("epoch_end", epoch_end)
