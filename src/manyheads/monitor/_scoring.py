"""Score crawled article pages: their rows, publication times and predicted topic and sentiment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from manyheads.monitor._specs import ModelSpec
    from manyheads.workflow._run import Run

__all__ = ["article_rows", "parse_time", "predict_articles"]


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time in UTC (naive times are UTC), or None if ``value`` is not one.

    Example:
        >>> parse_time("2026-12-06T10:00:00+01:00"), parse_time("yesterday")
        (datetime.datetime(2026, 12, 6, 9, 0, tzinfo=datetime.timezone.utc), None)
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def article_rows(
    todo: list[tuple[str, str, dict[str, Any]]], names: dict[str, str]
) -> tuple[list[dict[str, Any]], list[int]]:
    """The ``monitor_articles`` rows of the pages ``(url, content_hash, fields)`` before scoring,
    and the indices of those that can be scored (the others hold their ``problem``)."""
    rows: list[dict[str, Any]] = []
    good: list[int] = []
    for i, (url, content_hash, fields) in enumerate(todo):
        published = parse_time(fields.get(names["published"]))
        headline = fields.get(names["headline"])
        problem = None
        if published is None:
            got = fields.get(names["published"])
            problem = (
                f"field {names['published']!r} must be an ISO 8601 time such as "
                f"2026-12-06T10:00:00Z; got {got!r}. Fix the crawl's field selector."
            )
        else:
            good.append(i)
        rows.append(
            {
                "url": url,
                "content_hash": content_hash,
                "problem": problem,
                "headline": None if headline is None else str(headline),
                "published_at": published,
                "topic": None,
                "topic_proba": None,
                "sentiment": None,
                "sentiment_proba": None,
                "negative": None,
            }
        )
    return rows, good


def predict_articles(
    run: Run, spec: ModelSpec, fields: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> None:
    """Fill each row's topic, sentiment, their probabilities and ``negative`` from its fields."""
    import pandas as pd

    def frame(inputs: tuple[tuple[str, str], ...]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                col: ["" if f.get(src) is None else str(f.get(src)) for f in fields]
                for col, src in inputs
            }
        )

    out = run.predict(frame(spec.inputs))
    topics = run.predict(frame(spec.topic_inputs)) if spec.topic_inputs else out
    t, s = spec.topic_task, spec.sentiment_task
    for i, row in enumerate(rows):
        row["topic"] = str(topics[t].iloc[i])
        row["topic_proba"] = float(topics[f"{t}_proba"].iloc[i])
        row["sentiment"] = str(out[s].iloc[i])
        row["sentiment_proba"] = float(out[f"{s}_proba"].iloc[i])
        row["negative"] = row["sentiment"] == spec.negative_class
