"""A search's ``search.json`` and ``report.html``: optimisation history, parameter importances,
the Pareto front, the top-k trials and the final test. The HTML is one file that works offline:
its plots are inline SVG (Optuna's own plots need plotly from a CDN)."""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

from manyheads._files import atomic_write_text
from manyheads.workflow._run import json_safe

if TYPE_CHECKING:
    import optuna

    from manyheads.search._options import SearchOptions, SearchResult
    from manyheads.search._trial import TrialRunner

__all__ = ["svg_scatter", "write_report"]

W, H, PAD = 520, 300, 48


def svg_scatter(
    points: list[tuple[float, float]],
    *,
    xlabel: str,
    ylabel: str,
    line: list[tuple[float, float]] | None = None,
    marked: list[tuple[float, float]] | None = None,
) -> str:
    """A small scatter plot as inline SVG (``marked`` points in orange, ``line`` as a step).

    Example:
        >>> svg_scatter([(0, 1.0), (1, 2.0)], xlabel="trial", ylabel="auc").startswith("<svg")
        True
    """
    every = [p for p in points + (line or []) + (marked or []) if all(map(math.isfinite, p))]
    if not every:
        return "<p>(no finished trial to plot)</p>"
    xs, ys = [p[0] for p in every], [p[1] for p in every]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    x1, y1 = (x1 if x1 > x0 else x0 + 1), (y1 if y1 > y0 else y0 + abs(y0) * 0.01 + 1e-9)

    def at(p: tuple[float, float]) -> tuple[float, float]:
        return (
            PAD + (p[0] - x0) / (x1 - x0) * (W - 2 * PAD),
            H - PAD - (p[1] - y0) / (y1 - y0) * (H - 2 * PAD),
        )

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'font-family="sans-serif" font-size="11">',
        f'<rect x="{PAD}" y="{PAD}" width="{W - 2 * PAD}" height="{H - 2 * PAD}" '
        'fill="none" stroke="#bbb"/>',
    ]
    for value, ty in ((y0, H - PAD), (y1, PAD)):
        parts.append(f'<text x="{PAD - 4}" y="{ty + 4}" text-anchor="end">{value:.4g}</text>')
    for value, tx in ((x0, PAD), (x1, W - PAD)):
        parts.append(f'<text x="{tx}" y="{H - PAD + 14}" text-anchor="middle">{value:.4g}</text>')
    parts.append(
        f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">{html.escape(xlabel)}</text>'
        f'<text x="12" y="{H / 2}" transform="rotate(-90 12 {H / 2})" text-anchor="middle">'
        f"{html.escape(ylabel)}</text>"
    )
    if line:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(at, line))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#c44e52" stroke-width="2"/>')
    for p in points:
        if all(map(math.isfinite, p)):
            x, y = at(p)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#4c72b0"/>')
    for p in marked or []:
        x, y = at(p)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#dd8452"/>')
    parts.append("</svg>")
    return "".join(parts)


def _history(study: optuna.Study, result: SearchResult) -> str:
    from optuna.trial import TrialState

    name = result.objective.names[0]
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    points = [(float(t.number), float(t.values[0])) for t in trials]
    maximise = result.objective.directions[0] == "maximize"
    line, best = [], -math.inf if maximise else math.inf
    for x, y in points:
        if math.isfinite(y):
            best = max(best, y) if maximise else min(best, y)
            line.append((x, best))
    return svg_scatter(points, xlabel="trial", ylabel=name, line=line)


def _importances(study: optuna.Study, result: SearchResult) -> dict[str, float]:
    """fANOVA importances of the parameters on the first objective ({} with < 2 trials)."""
    import warnings

    import optuna

    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
    try:
        with warnings.catch_warnings():  # Optuna warns about few trials; the report says so
            warnings.simplefilter("ignore")
            found = optuna.importance.get_param_importances(
                study,
                evaluator=evaluator,
                target=None if result.objective.prunable else (lambda t: t.values[0]),
            )
    except (RuntimeError, ValueError, ZeroDivisionError):  # too few trials or one parameter
        return {}
    return {k: round(float(v), 4) for k, v in found.items()}


def _bars(importances: dict[str, float]) -> str:
    if not importances:
        return "<p>(needs at least two finished trials that differ)</p>"
    rows = []
    for key, value in importances.items():
        width = max(1, int(300 * value))
        rows.append(
            f'<div><span style="display:inline-block;width:220px">{html.escape(key)}</span>'
            f'<span style="display:inline-block;background:#4c72b0;height:12px;width:{width}px">'
            f"</span> {value:.3f}</div>"
        )
    return "".join(rows)


def _pareto(study: optuna.Study, result: SearchResult) -> str:
    from optuna.trial import TrialState

    names = result.objective.names
    if result.objective.prunable or len(names) < 2:
        return ""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    points = [(t.values[0], t.values[1]) for t in trials if t.number not in result.pareto]
    front = [(t.values[0], t.values[1]) for t in trials if t.number in result.pareto]
    plot = svg_scatter(points, xlabel=names[0], ylabel=names[1], marked=front)
    return f"<h2>Pareto front</h2><p>Orange: the Pareto-optimal trials {result.pareto}.</p>{plot}"


def _trial_rows(study: optuna.Study, result: SearchResult, top_k: int) -> list[dict[str, Any]]:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    sign = 1.0 if result.objective.directions[0] == "maximize" else -1.0
    ranked = sorted(trials, key=lambda t: -sign * t.values[0])[:top_k]
    return [
        {
            "number": t.number,
            "values": list(t.values),
            "params": t.params,
            "cv": t.user_attrs.get("cv", {}),
            "best_epochs": t.user_attrs.get("best_epochs", []),
        }
        for t in ranked
    ]


def _table(rows: list[dict[str, Any]], names: list[str]) -> str:
    head = ["trial", *names, "validation mean ± std per task", "parameters"]
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for row in rows:
        cv = "<br>".join(
            f"{html.escape(task)}: "
            + ", ".join(f"{m} {v[0]:.4f} ± {v[1]:.4f}" for m, v in metrics.items())
            for task, metrics in row["cv"].items()
        )
        params = "<br>".join(
            f"{html.escape(k)} = {html.escape(str(v))}" for k, v in row["params"].items()
        )
        values = "".join(f"<td>{v:.4f}</td>" for v in row["values"])
        out.append(f"<tr><td>{row['number']}</td>{values}<td>{cv}</td><td>{params}</td></tr>")
    return "".join(out) + "</table>"


def _final_html(final: dict[str, Any] | None) -> str:
    if final is None:
        return "<h2>Final test</h2><p>Not run (--no-final).</p>"
    rows = "".join(
        f"<tr><td>{html.escape(task)}</td><td>{html.escape(str(m.get('primary')))}</td>"
        f"<td>{m.get(str(m.get('primary')), float('nan')):.4f}</td></tr>"
        for task, m in final["tasks"].items()
    )
    table = (
        f"<table><tr><th>task</th><th>metric</th><th>test</th></tr>{rows}</table>" if rows else ""
    )
    return f"<h2>Final test</h2><p>{html.escape(final['note'])}.</p>{table}"


def _counts(counts: dict[str, int]) -> str:
    """``5 complete, 1 pruned`` (the states that occurred).

    Example:
        >>> _counts({"running": 0, "complete": 5, "pruned": 1, "fail": 0})
        '5 complete, 1 pruned'
    """
    return ", ".join(f"{n} {state}" for state, n in counts.items() if n)


STYLE = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
    "vertical-align:top;font-size:13px}"
)


def write_report(
    result: SearchResult, study: optuna.Study, runner: TrialRunner, options: SearchOptions
) -> None:
    """Write ``search.json`` and ``report.html`` into the search folder."""
    rows = _trial_rows(study, result, options.top_k)
    importances = _importances(study, result)
    data = {
        "objective": result.objective.names,
        "directions": result.objective.directions,
        "evaluation": runner.data.describe(),
        "test_split": "never seen by the search; used once, by the final run",
        "trials": result.n_trials,
        "best": {
            "trial": result.best_number,
            "values": result.best_scores,
            "config": result.best_values,
            "best_epochs": result.best_epochs,
        },
        "pareto_trials": result.pareto,
        "importances": importances,
        "top_trials": rows,
        "final": result.final,
    }
    if result.objective.baseline:
        data["stl_baseline"] = result.objective.baseline
    atomic_write_text(
        result.directory / "search.json", json.dumps(json_safe(data), indent=2, allow_nan=False)
    )
    names = result.objective.names
    body = [
        f"<h1>manyheads search: {html.escape(', '.join(names))}</h1>",
        f"<p>Trials: {html.escape(_counts(result.n_trials))}. Each trial is "
        f"{html.escape(runner.data.describe())}. The test split is never seen by the search.</p>",
        f"<p>Chosen: trial {result.best_number} "
        f"({', '.join(f'{n} {v:.4f}' for n, v in zip(names, result.best_scores, strict=True))})"
        f", written to best.yaml.</p>",
        "<h2>Optimisation history</h2>",
        _history(study, result),
        "<h2>Parameter importances (fANOVA)</h2>",
        _bars(importances),
        _pareto(study, result),
        f"<h2>Top {len(rows)} trials</h2>",
        _table(rows, names),
        _final_html(result.final),
    ]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>manyheads search</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>"
    )
    atomic_write_text(result.directory / "report.html", page)
