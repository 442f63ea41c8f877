"""The dashboard: one offline HTML page with inline SVG charts (no script, no CDN).

Per topic: the negative share per bucket, the chart's limit and baseline, and the alerts as
red markers; then the latest articles with their predicted topic and sentiment. The page is
regenerated each cycle (``dashboard: monitor.html``) or served by ``manyheads monitor serve``.
"""

from __future__ import annotations

import html
from collections import defaultdict
from pathlib import Path
from typing import Any

from manyheads.errors import DataError
from manyheads.monitor._db import MonitorDB
from manyheads.monitor._specs import MonitorConfig

__all__ = ["MARKER", "check_dashboard_path", "render_dashboard", "write_dashboard"]

#: The first line of every page manyheads writes; a file without it is never replaced.
MARKER = "<!-- manyheads monitor dashboard -->"
_W, _H, _PAD = 640, 150, 28
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.05em;margin:.2em 0}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #ddd;padding:8px;border-radius:4px}
.chart.alerted{border-color:#c00}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:3px 6px;
font-size:.85em;text-align:left}.neg{color:#c00;font-weight:600}.legend span{margin-right:1em}
"""


def check_dashboard_path(path: Path) -> None:
    """Refuse a dashboard path that is a folder, or a file manyheads did not write.

    Raises:
        DataError: naming the path and the fix; the file is left untouched.
    """
    if path.is_dir():
        raise DataError("is a folder; 'dashboard' must name an .html file.", path=str(path))
    if path.exists():
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = handle.readline().strip()
        if head != MARKER:
            raise DataError(
                "exists and was not written by manyheads monitor, so it is not replaced. "
                "Name a new file in 'dashboard', or move this one.",
                path=str(path),
            )


def write_dashboard(db: MonitorDB, config: MonitorConfig, path: Path) -> None:
    """Render the page and write it through a temporary file and a rename."""
    from manyheads._output_file import atomic_write_text

    check_dashboard_path(path)
    atomic_write_text(path, render_dashboard(db, config))


def render_dashboard(db: MonitorDB, config: MonitorConfig, *, latest: int = 40) -> str:
    """The whole page as a string."""
    by_topic: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in db.bucket_rows():
        by_topic[row["topic"]].append(row)
    alerts = db.alert_rows()
    alerted = {a["topic"] for a in alerts}
    order = sorted(by_topic, key=lambda t: (t not in alerted, -sum(r["n"] for r in by_topic[t]), t))
    charts = "\n".join(_chart(t, by_topic[t], t in alerted) for t in order)
    scored = sorted(db.scored_articles(), key=lambda a: (a["published_at"], a["url"]), reverse=True)
    spec = config.detect
    return (
        f"{MARKER}\n<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<title>manyheads monitor</title><link rel='icon' href='data:,'>"  # no favicon request
        f"<style>{_CSS}</style></head><body>"
        f"<h1>Negative share per topic</h1><p class='legend'>{len(scored)} articles scored, "
        f"{len(alerts)} alerts. Chart: {html.escape(spec.method)}, bucket {spec.bucket_s:g} s, "
        f"sigma {spec.sigma:g}, min count {spec.min_count}. "
        "<span style='color:#1f6fb4'>&#9632; share</span><span style='color:#e08020'>"
        "- - limit</span><span style='color:#888'>&#8212; baseline</span><span "
        "style='color:#c00'>&#9679; alert</span></p>"
        f"<div class='charts'>{charts}</div>"
        f"<h1>Alerts</h1>{_alerts_table(alerts)}"
        f"<h1>Latest articles</h1>{_articles_table(scored[:latest])}</body></html>\n"
    )


def _chart(topic: str, rows: list[dict[str, Any]], alerted: bool) -> str:
    times: list[float] = [float(r["bucket_start"].timestamp()) for r in rows]
    t0, t1 = min(times), max(times)
    span = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return _PAD + (t - t0) / span * (_W - 2 * _PAD)

    def y(v: float) -> float:
        return _H - _PAD + 4 - min(max(v, 0.0), 1.0) * (_H - 2 * _PAD)

    def line(key: str, style: str) -> str:
        pts = " ".join(
            f"{x(t):.1f},{y(r[key]):.1f}"
            for t, r in zip(times, rows, strict=True)
            if r[key] is not None
        )
        return f"<polyline class='{key}' points='{pts}' fill='none' {style}/>" if pts else ""

    marks = "".join(
        f"<circle class='alert' cx='{x(t):.1f}' cy='{y(r['share']):.1f}' r='5' fill='#c00'>"
        f"<title>alert {r['bucket_start'].isoformat()}: {r['share']:.2f}</title></circle>"
        for t, r in zip(times, rows, strict=True)
        if r["state"] == "alert"
    )
    axis = (
        f"<line x1='{_PAD}' y1='{y(0):.1f}' x2='{_W - _PAD}' y2='{y(0):.1f}' stroke='#999'/>"
        f"<text x='2' y='{y(1) + 4:.1f}' font-size='10'>1.0</text>"
        f"<text x='2' y='{y(0) + 4:.1f}' font-size='10'>0</text>"
        f"<text x='{_PAD}' y='{_H - 4}' font-size='10'>"
        f"{rows[0]['bucket_start']:%Y-%m-%d %H:%M}</text>"
        f"<text x='{_W - _PAD - 90}' y='{_H - 4}' font-size='10'>"
        f"{rows[-1]['bucket_start']:%Y-%m-%d %H:%M}</text>"
    )
    body = (
        axis
        + line("baseline", "stroke='#888' stroke-width='1'")
        + line("limit", "stroke='#e08020' stroke-dasharray='4 3' stroke-width='1.5'")
        + line("share", "stroke='#1f6fb4' stroke-width='2'")
        + marks
    )
    n = sum(r["n"] for r in rows)
    cls = "chart alerted" if alerted else "chart"
    return (
        f"<div class='{cls}'><h2>{html.escape(topic)} <small>({n} articles)</small></h2>"
        f"<svg class='topic-chart' width='{_W}' height='{_H}' viewBox='0 0 {_W} {_H}' "
        f"role='img' aria-label='{html.escape(topic, quote=True)}'>{body}</svg></div>"
    )


def _alerts_table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "<p>No alerts.</p>"
    rows = "".join(
        f"<tr><td>{a['bucket_start']:%Y-%m-%d %H:%M}</td><td>{html.escape(a['topic'])}</td>"
        f"<td>{a['share']:.2f}</td><td>{a['baseline']:.2f}</td><td>{a['limit']:.2f}</td>"
        f"<td>{a['count']}</td><td>{'yes' if a['delivered'] else 'no'}</td></tr>"
        for a in reversed(alerts)
    )
    head = "<tr><th>bucket</th><th>topic</th><th>share</th><th>baseline</th><th>limit</th>"
    return f"<table id='alerts'>{head}<th>count</th><th>delivered</th></tr>{rows}</table>"


def _articles_table(articles: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{a['published_at']:%Y-%m-%d %H:%M}</td>"
        f"<td><a href='{html.escape(a['url'], quote=True)}'>{html.escape(a['headline'] or '')}</a>"
        f"</td><td>{html.escape(str(a['topic']))}</td>"
        f"<td class='{'neg' if a['negative'] else ''}'>{html.escape(str(a['sentiment']))} "
        f"({float(a['sentiment_proba'] or 0):.2f})</td></tr>"
        for a in articles
    )
    head = "<tr><th>published</th><th>headline</th><th>topic</th><th>sentiment</th></tr>"
    return f"<table id='latest'>{head}{rows}</table>"
