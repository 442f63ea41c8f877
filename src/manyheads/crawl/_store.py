"""The crawl store: one row per canonical URL, the runs and the failures (SQLAlchemy Core).

SQLite (embedded) and PostgreSQL share one schema. Writes are upserts keyed on the canonical URL,
so a page written twice (a resumed crawl, a recrawl, a second writer) is stored once.

The tables are declared in :mod:`manyheads.crawl._tables`; opening the database (the URL, the
rules for SQLite files) is :mod:`manyheads.crawl._engine`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from manyheads.crawl._engine import normalize_url, open_engine, upsert
from manyheads.crawl._redact import redact
from manyheads.crawl._tables import CRAWL_TABLES, crawl_runs, failures, pages

__all__ = ["CRAWL_TABLES", "KnownPage", "Store", "normalize_url"]


@dataclass(frozen=True)
class KnownPage:
    """What a new run needs to know about a stored page."""

    run_id: int
    etag: str | None
    last_modified: str | None
    body_hash: str


def _now() -> datetime:
    return datetime.now(UTC)


class Store:
    """A crawl store behind a SQLAlchemy engine.

    Args:
        url: a SQLAlchemy URL (``sqlite:///crawl.db``, ``postgresql://user@host/db``) or a path.
        create: create the tables when missing (a reader passes ``False``).

    Raises:
        DataError: the database cannot be reached, or (``create=False``) holds no crawl tables.

    Example:
        >>> store = Store("sqlite://")
        >>> run = store.start_run("abc", config="{}")
        >>> store.write_pages([dict(url="http://h/a", run_id=run, status=200, depth=0,
        ...     body_hash="0", content_hash="1", is_item=True, fields='{"t": 1}', links="[]")])
        >>> store.read_records()
        [{'t': 1, 'url': 'http://h/a'}]
    """

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine = open_engine(url, create=create)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # ---- runs ---------------------------------------------------------------------------

    def start_run(self, fingerprint: str, *, config: str) -> int:
        """Open a new run and return its id."""
        with self.engine.begin() as conn:
            result = conn.execute(
                crawl_runs.insert().values(
                    fingerprint=fingerprint,
                    started_at=_now(),
                    status="running",
                    config=redact(config),
                    n_attempts=1,
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def unfinished_run(self, fingerprint: str) -> tuple[int, str] | None:
        """The latest run with this fingerprint that did not finish: ``(id, status)``."""
        query = (
            sa.select(crawl_runs.c.id, crawl_runs.c.status)
            .where(crawl_runs.c.fingerprint == fingerprint)
            .order_by(crawl_runs.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        # "failed": every start URL was refused; nothing to continue, the next run starts anew.
        if row is None or row.status in ("finished", "failed"):
            return None
        return int(row.id), str(row.status)

    def reopen_run(self, run_id: int) -> None:
        """Mark an unfinished run as running again (one more attempt)."""
        with self.engine.begin() as conn:
            conn.execute(
                crawl_runs.update()
                .where(crawl_runs.c.id == run_id)
                .values(status="running", n_attempts=crawl_runs.c.n_attempts + 1)
            )

    def finish_run(
        self, run_id: int, *, status: str, reason: str, stats: Mapping[str, Any]
    ) -> None:
        """Close a run with its final status, Scrapy's finish reason and stats."""
        with self.engine.begin() as conn:
            conn.execute(
                crawl_runs.update()
                .where(crawl_runs.c.id == run_id)
                .values(
                    status=status,
                    finish_reason=reason,
                    finished_at=_now(),
                    stats=redact(json.dumps(stats, default=str, sort_keys=True)),
                )
            )

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first, with its stats decoded."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(crawl_runs).order_by(crawl_runs.c.id)).mappings().all()
        return [{**r, "stats": json.loads(r["stats"]) if r["stats"] else {}} for r in rows]

    # ---- pages --------------------------------------------------------------------------

    def known_pages(self) -> dict[str, KnownPage]:
        """Canonical URL -> what a new run needs for conditional requests and resuming."""
        cols = (pages.c.url, pages.c.run_id, pages.c.etag, pages.c.last_modified, pages.c.body_hash)
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols)).all()
        return {r.url: KnownPage(r.run_id, r.etag, r.last_modified, r.body_hash) for r in rows}

    def links(self, url: str) -> list[str]:
        """The stored links of a page (empty if the page is not stored)."""
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(pages.c.links).where(pages.c.url == url)).scalar()
        return list(json.loads(value)) if value else []

    def write_pages(self, rows: list[dict[str, Any]]) -> None:
        """Insert or replace whole page rows (idempotent on the canonical URL)."""
        if not rows:
            return
        now = _now()
        blank = {c.name: None for c in pages.columns if c.nullable}
        rows = [{**blank, "fetched_at": now, "checked_at": now, **r} for r in rows]
        stmt = upsert(self.engine, pages)
        update = {c.name: stmt.excluded[c.name] for c in pages.columns if c.name != "url"}
        with self.engine.begin() as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=update), rows)

    def touch_pages(self, urls: Iterable[str], run_id: int) -> None:
        """Mark unchanged pages as seen by ``run_id``; their content is kept."""
        params = [{"u": u, "r": run_id, "t": _now()} for u in urls]
        if not params:
            return
        stmt = (
            pages.update()
            .where(pages.c.url == sa.bindparam("u"))
            .values(run_id=sa.bindparam("r"), checked_at=sa.bindparam("t"))
        )
        with self.engine.begin() as conn:
            conn.execute(stmt, params)

    def write_failures(self, rows: list[dict[str, Any]]) -> None:
        """Record failures (one per run and URL; the last one wins)."""
        if not rows:
            return
        now = _now()
        rows = [{"at": now, **r, "error": redact(str(r["error"]))} for r in rows]
        stmt = upsert(self.engine, failures)
        update = {
            "at": stmt.excluded.at,
            "status": stmt.excluded.status,
            "error": stmt.excluded.error,
        }
        with self.engine.begin() as conn:
            conn.execute(
                stmt.on_conflict_do_update(index_elements=["run_id", "url"], set_=update), rows
            )

    def clear_failure(self, run_id: int, urls: list[str]) -> None:
        """Forget failures of URLs that a later attempt fetched."""
        if urls:
            with self.engine.begin() as conn:
                conn.execute(
                    failures.delete().where(failures.c.run_id == run_id, failures.c.url.in_(urls))
                )

    def failures(self, run_id: int | None = None) -> list[dict[str, Any]]:
        """Recorded failures, of one run or all."""
        query = sa.select(failures).order_by(failures.c.run_id, failures.c.url)
        if run_id is not None:
            query = query.where(failures.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def outcomes(self, run_id: int, urls: list[str]) -> tuple[set[str], dict[str, str]]:
        """Of ``urls``: those stored (fetched or checked) by ``run_id``, and their failures."""
        with self.engine.connect() as conn:
            stored = conn.execute(
                sa.select(pages.c.url).where(pages.c.url.in_(urls), pages.c.run_id == run_id)
            ).all()
            failed = conn.execute(
                sa.select(failures.c.url, failures.c.error).where(
                    failures.c.url.in_(urls), failures.c.run_id == run_id
                )
            ).all()
        return {str(r.url) for r in stored}, {str(r.url): str(r.error) for r in failed}

    def content_hashes(self) -> dict[str, str]:
        """Content hash -> the first URL (alphabetically) holding it, over item pages."""
        query = (
            sa.select(pages.c.content_hash, sa.func.min(pages.c.url))
            .where(pages.c.is_item)
            .group_by(pages.c.content_hash)
        )
        with self.engine.connect() as conn:
            return {h: u for h, u in conn.execute(query).all()}

    def minhashes(self) -> Iterator[tuple[str, bytes]]:
        """``(url, signature)`` of every stored item page that has one."""
        query = sa.select(pages.c.url, pages.c.minhash).where(pages.c.minhash.is_not(None))
        with self.engine.connect() as conn:
            for url, blob in conn.execute(query):
                yield url, bytes(blob)

    def page_rows(self, *, items_only: bool = False) -> list[dict[str, Any]]:
        """Every stored page row (for tests and tools), ordered by URL."""
        query = sa.select(pages).order_by(pages.c.url)
        if items_only:
            query = query.where(pages.c.is_item)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def read_records(self) -> list[dict[str, Any]]:
        """Item pages as ``{**fields, "url": url}``, ordered by URL."""
        query = sa.select(pages.c.url, pages.c.fields).where(pages.c.is_item).order_by(pages.c.url)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{**json.loads(f or "{}"), "url": u} for u, f in rows]
