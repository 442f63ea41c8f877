"""The outputs of ``manyheads robustness``: ``robustness.json``, ``robustness.md`` (the table the
terminal shows) and one plot per task, ``robustness-<task>.png``."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from manyheads._files import atomic_write_text
from manyheads.workflow._run import json_safe

if TYPE_CHECKING:
    from manyheads.robustness._evaluate import RobustnessResult

__all__ = ["plot_task", "table", "write_outputs"]


def _cell(value: float, digits: int = 4) -> str:
    return "—" if not math.isfinite(value) else f"{value:.{digits}f}"


def table(result: RobustnessResult) -> str:
    """A Markdown table: per variant and corruption, each task's primary metric clean and at
    the strongest level (with its degradation), and the mean degradation over tasks and
    strengths (positive: worse; lower is more robust)."""
    tasks = list(result.tasks)
    top = result.strengths[-1]
    head = [
        "variant",
        "corruption",
        *[f"{t} {result.tasks[t]['primary']}: clean → {top:g} (drop %)" for t in tasks],
        "mean drop %",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for variant, by_corruption in result.variants.items():
        for corruption, entries in by_corruption.items():
            cells = []
            for t in tasks:
                if t not in entries[0]["tasks"]:
                    cells.append("—")
                    continue
                clean, last = entries[0]["tasks"][t], entries[-1]["tasks"][t]
                cells.append(
                    f"{_cell(clean['mean'])} → {_cell(last['mean'])} "
                    f"({_cell(last['degradation'], 1)})"
                )
            mean = result.summary[variant][corruption]
            lines.append(
                f"| {variant} | {corruption} | " + " | ".join(cells) + f" | {_cell(mean, 2)} |"
            )
    return "\n".join(lines)


def plot_task(result: RobustnessResult, task: str, path: Path) -> None:
    """One figure per task: a panel per corruption, the task's primary metric (mean ± std over
    each variant's runs) against the strength, one line per variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corruptions = list(result.corruptions)
    fig, axes = plt.subplots(
        1, len(corruptions), figsize=(4.2 * len(corruptions), 3.2), squeeze=False
    )
    primary = result.tasks[task]["primary"]
    for ax, corruption in zip(axes[0], corruptions, strict=True):
        for variant, by_corruption in result.variants.items():
            entries = by_corruption[corruption]
            if task not in entries[0]["tasks"]:
                continue
            ax.errorbar(
                [e["strength"] for e in entries],
                [e["tasks"][task]["mean"] for e in entries],
                yerr=[e["tasks"][task]["std"] for e in entries],
                marker="o",
                capsize=3,
                label=variant,
            )
        ax.set_title(f"{task}: {corruption}")
        ax.set_xlabel(f"strength ({_short(result, corruption)})")
        ax.set_ylabel(primary)
        ax.legend(fontsize=7)
    fig.tight_layout()
    with path.open("wb") as handle:  # written through a temporary name by the caller
        fig.savefig(handle, format="png", dpi=90)
    plt.close(fig)


def _short(result: RobustnessResult, corruption: str) -> str:
    from manyheads.robustness._corruptions import CORRUPTIONS

    return CORRUPTIONS[corruption].strength


def plot_name(task: str) -> str:
    """The plot file of ``task``: ``robustness-<task>.png`` (other characters become ``_``).

    Example:
        >>> plot_name("box/iou")
        'robustness-box_iou.png'
    """
    return f"robustness-{re.sub(r'[^A-Za-z0-9_.-]', '_', task)}.png"


def write_outputs(result: RobustnessResult, directory: Path) -> list[Path]:
    """Write ``robustness.json``, ``robustness.md`` and a plot per task; return their paths."""
    from manyheads._output_file import atomic_write

    written = []
    path = directory / "robustness.json"
    atomic_write_text(path, json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False))
    written.append(path)
    path = directory / "robustness.md"
    note = (
        "Each task's primary metric on the clean rows and under each corruption at strength "
        f"{result.strengths[-1]:g} (mean over each variant's runs), its drop in % of the clean "
        "value (positive: worse), and the mean drop over the tasks and the strengths "
        f"{', '.join(f'{s:g}' for s in result.strengths[1:])}: lower is more robust."
    )
    atomic_write_text(path, f"# manyheads robustness\n\n{note}\n\n{table(result)}\n")
    written.append(path)
    for task in result.tasks:
        path = directory / plot_name(task)
        with atomic_write(path) as tmp:
            plot_task(result, task, tmp)
        written.append(path)
    return written
