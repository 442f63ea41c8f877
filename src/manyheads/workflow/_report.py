"""Write a comparison's ``comparison.json``, ``report.md`` and ``report.html`` (with plots)."""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING

from manyheads._output_file import atomic_write_text

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from manyheads.workflow._fit import Run
    from manyheads.workflow._summary import Comparison

__all__ = ["write_reports"]


def _figure_png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode()


def _metric_plot(comparison: Comparison) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(comparison.variants[0]["tasks"])
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 3.2), squeeze=False)
    rows = comparison.rows()
    names = [v["name"] for v in rows]
    # baselines (compare --baselines) in grey beside the neural variants
    colours = ["#999999" if v.get("kind") == "baseline" else "#4c72b0" for v in rows]
    for ax, task in zip(axes[0], tasks, strict=True):
        means = [v["tasks"][task]["mean"] for v in rows]
        stds = [v["tasks"][task]["std"] for v in rows]
        ax.bar(names, means, yerr=stds, capsize=4, color=colours)
        primary = comparison.variants[0]["tasks"][task]["primary"]
        ax.set_title(f"{task}: {comparison.split} {primary} (mean ± std)")
        # an undefined metric (NaN: AUC on one class) has no bar and sets no limit
        ends = [(m - s, m + s) for m, s in zip(means, stds, strict=True) if math.isfinite(m + s)]
        if ends:
            low, high = min(e[0] for e in ends), max(e[1] for e in ends)
            pad = max(1e-4, (high - low) * 0.5)
            ax.set_ylim(low - pad, high + pad)
        ax.tick_params(axis="x", rotation=30)
    png = _figure_png(fig)
    plt.close(fig)
    return png


def _curve_plot(runs: dict[str, list[Run]]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = next(iter(runs.values()))[0]
    keys = [k for k in first.history[0] if k.startswith("valid_") and "/" in k]
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for name, rs in runs.items():
            history = rs[0].history
            ax.plot(
                [h["epoch"] for h in history], [h[key] for h in history], marker="o", label=name
            )
        ax.set_title(f"{key} (seed {runs[next(iter(runs))][0].metrics['seed']})")  # type: ignore[index]
        ax.set_xlabel("epoch")
        ax.legend(fontsize=7)
    png = _figure_png(fig)
    plt.close(fig)
    return png


_NOTE = (
    "Δm% = (100/T) Σ_t (−1)^h_t (M_t − M_t^stl) / M_t^stl on each task's primary metric "
    "(h_t = 1 when higher is better). **Negative Δm% means better than the single-task models "
    "(stl).** Model selection (best epoch) used the validation split only; for stl each task's "
    "weights come from its own best validation epoch, as separately trained single-task models "
    "would. Every metric below comes from the {split} split. Mean ± standard deviation over "
    "seeds {seeds}.{absolute}"
)


def _absolute_note(comparison: Comparison) -> str:
    """The note's sentence on tasks that Δm% scores by absolute difference (empty if none)."""
    tasks = sorted(
        {t for v in comparison.variants for t in v.get("delta_m", {}).get("absolute_tasks", [])}
    )
    if not tasks:
        return ""
    return (
        f" Δm% for {', '.join(tasks)} (a metric that can be ≤ 0, such as r2, or an stl value "
        "≤ 0): the term is the absolute difference ×100, (−1)^h_t · 100 (M_t − M_t^stl), as a "
        "relative difference to a baseline ≤ 0 has no meaning."
    )


def _baselines_note(comparison: Comparison) -> str:
    """The note's sentences on the baselines of ``compare --baselines`` (empty if none)."""
    if not comparison.baselines:
        return ""
    names = [b["name"] for b in comparison.baselines]
    models = "; ".join(f"{b['name']}: {b['description']}" for b in comparison.baselines)
    return (
        f" Baselines {', '.join(names)}: one scikit-learn model per task, trained once per seed "
        f"on the same splits and inputs ({models}); they have no parameter count or inference "
        f"time. The columns {', '.join(f'Δm% vs {n}' for n in names)} use the same formula with "
        "the baseline's mean in place of M_t^stl (absolute difference ×100 for r2 and for a "
        "baseline ≤ 0): negative means better than that baseline."
    )


def _weights_note(comparison: Comparison) -> str:
    """The note's sentence on the weighted Δm% of ``compare --task-weights`` (empty if none)."""
    if comparison.task_weights is None:
        return ""
    tasks = list(comparison.variants[0]["tasks"])
    shown = ", ".join(f"{t} = {comparison.task_weights.get(t, 1.0):g}" for t in tasks)
    return (
        f" Weighted Δm% vs stl = Σ_t w_t d_t / Σ_t w_t, d_t being task t's term of Δm% (its "
        f"relative change against stl, negative = better), with the weights {shown}."
    )


def write_reports(comparison: Comparison, runs: dict[str, list[Run]]) -> None:
    """Write the three report files into ``comparison.directory``, each through a temporary
    file and a rename (an interrupted write leaves the previous file or none, never half a
    report)."""
    from manyheads.workflow._summary import save_json

    directory = comparison.directory
    directory.mkdir(parents=True, exist_ok=True)
    save_json(comparison)
    seeds = comparison.variants[0]["seeds"]
    note = _NOTE.format(split=comparison.split, seeds=seeds, absolute=_absolute_note(comparison))
    note += _weights_note(comparison) + _baselines_note(comparison)
    table = comparison.table()
    atomic_write_text(directory / "report.md", f"# manyheads comparison\n\n{note}\n\n{table}\n")
    plots = [_metric_plot(comparison), _curve_plot(runs)]
    rows = "".join(
        "<tr>"
        + "".join(f"<td>{html.escape(c.strip())}</td>" for c in line.strip("|").split("|"))
        + "</tr>"
        for line in table.splitlines()[2:]
    )
    header = "".join(
        f"<th>{html.escape(c.strip())}</th>" for c in table.splitlines()[0].strip("|").split("|")
    )
    images = "".join(f'<p><img src="data:image/png;base64,{p}"></p>' for p in plots)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>manyheads comparison</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head><body>"
        f"<h1>manyheads comparison</h1><p>{html.escape(note).replace('**', '')}</p>"
        f"<table><tr>{header}</tr>{rows}</table><h2>Plots</h2>{images}</body></html>"
    )
    atomic_write_text(directory / "report.html", page)
