"""The monitor's database: new pages to score, articles, bucket aggregates and alert history.

It is the crawl store's database (SQLite or PostgreSQL): the crawl writes ``pages``, the
monitor reads the item pages it has not scored (or whose content changed) and writes its own
tables (:mod:`._tables`). Every write is an upsert or an insert-if-absent, so a cycle run
twice on the same pages changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from manyheads.crawl._engine import open_engine, upsert
from manyheads.crawl._tables import pages
from manyheads.monitor._tables import alerts, articles, buckets, metadata

__all__ = ["MonitorDB", "as_utc"]


def as_utc(value: datetime | None) -> datetime | None:
    """A timezone-aware UTC datetime (SQLite returns naive ones, written as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MonitorDB:
    """The crawl store plus the monitor's tables behind one SQLAlchemy engine.

    Args:
        url: ``sqlite:///monitor.db``, a path, or ``postgresql://user@host/db``.

    Raises:
        DataError: the database cannot be reached, or is a SQLite file that is neither new,
            empty, nor a crawl store (it is left untouched).
    """

    def __init__(self, url: str) -> None:
        self.engine = open_engine(url, create=True)
        metadata.create_all(self.engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # ---- articles ----------------------------------------------------------------------

    def pages_to_score(self) -> list[tuple[str, str, dict[str, Any]]]:
        """``(url, content_hash, fields)`` of item pages never scored or changed since."""
        joined = pages.outerjoin(articles, articles.c.url == pages.c.url)
        query = (
            sa.select(pages.c.url, pages.c.content_hash, pages.c.fields)
            .select_from(joined)
            .where(pages.c.is_item)
            .where(
                sa.or_(articles.c.url.is_(None), articles.c.content_hash != pages.c.content_hash)
            )
            .order_by(pages.c.url)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(str(u), str(h), json.loads(f or "{}")) for u, h, f in rows]

    def write_articles(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert scored articles; a rescored (changed) article counts one more scoring."""
        if not rows:
            return
        now = datetime.now(UTC)
        stmt = upsert(self.engine, articles)
        keep = ("url", "n_scored")
        update: dict[str, Any] = {
            c.name: stmt.excluded[c.name] for c in articles.columns if c.name not in keep
        }
        update["n_scored"] = articles.c.n_scored + 1
        values = [{**r, "n_scored": 1, "scored_at": now} for r in rows]
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=update), values)

    def scored_articles(self) -> list[dict[str, Any]]:
        """Every article scored without a problem: url, headline, time, topic, negative."""
        cols = [
            articles.c.url,
            articles.c.headline,
            articles.c.published_at,
            articles.c.topic,
            articles.c.sentiment,
            articles.c.sentiment_proba,
            articles.c.negative,
        ]
        query = sa.select(*cols).where(articles.c.problem.is_(None)).order_by(articles.c.url)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for r in rows:
            r["published_at"] = as_utc(r["published_at"])
        return rows

    def article_rows(self) -> list[dict[str, Any]]:
        """Every article row (for tests and tools), ordered by URL."""
        with self.engine.connect() as conn:
            query = sa.select(articles).order_by(articles.c.url)
            return [dict(r) for r in conn.execute(query).mappings().all()]

    # ---- buckets ------------------------------------------------------------------------

    def bucket_rows(self) -> list[dict[str, Any]]:
        """Every bucket row, by topic then time."""
        query = sa.select(buckets).order_by(buckets.c.topic, buckets.c.bucket_start)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for r in rows:
            r["bucket_start"] = as_utc(r["bucket_start"])
        return rows

    def sync_buckets(self, rows: Sequence[dict[str, Any]]) -> int:
        """Make ``monitor_buckets`` equal ``rows``, writing only what differs; return the count."""
        key = ("topic", "bucket_start")
        old = {tuple(r[k] for k in key): r for r in self.bucket_rows()}
        new = {tuple(r[k] for k in key): r for r in rows}
        changed = [r for k, r in new.items() if old.get(k) != r]
        gone = [k for k in old if k not in new]
        if changed:
            stmt = upsert(self.engine, buckets)
            update = {c.name: stmt.excluded[c.name] for c in buckets.columns if c.name not in key}
            with self.engine.begin() as conn:
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=list(key), set_=update), changed
                )
        if gone:
            with self.engine.begin() as conn:
                for topic, start in gone:
                    conn.execute(
                        buckets.delete().where(
                            buckets.c.topic == topic, buckets.c.bucket_start == start
                        )
                    )
        return len(changed) + len(gone)

    # ---- alerts -------------------------------------------------------------------------

    def add_alert(self, row: dict[str, Any]) -> bool:
        """Record an alert unless this topic and bucket already fired; True when it is new."""
        stmt = upsert(self.engine, alerts).values(
            **row, created_at=datetime.now(UTC), delivered=False, attempts=0
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["topic", "bucket_start"])
        # RETURNING, not rowcount: drivers differ on rowcount when the insert did nothing
        with self.engine.begin() as conn:
            return conn.execute(stmt.returning(alerts.c.id)).first() is not None

    def alert_rows(self, *, undelivered: bool = False) -> list[dict[str, Any]]:
        """The alert history (oldest first), or only the alerts a webhook has not received."""
        query = sa.select(alerts).order_by(alerts.c.id)
        if undelivered:
            query = query.where(sa.not_(alerts.c.delivered))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings().all()]
        for r in rows:
            r["bucket_start"] = as_utc(r["bucket_start"])
        return rows

    def mark_delivery(self, alert_id: int, error: str | None) -> None:
        """Record one webhook attempt: delivered, or the error."""
        values = {
            "attempts": alerts.c.attempts + 1,
            "delivered": error is None,
            "last_error": error,
        }
        with self.engine.begin() as conn:
            conn.execute(alerts.update().where(alerts.c.id == alert_id).values(**values))
