"""The crawl store: one row per canonical URL, the runs and the failures (SQLAlchemy Core).

SQLite (embedded) and PostgreSQL share one schema. Writes are upserts keyed on the canonical URL,
so a page written twice (a resumed crawl, a recrawl, a second writer) is stored once.

Tables:
    pages: every fetched page. ``is_item`` marks records; ``fields`` is their JSON; ``links``
        the page's in-domain links, used to resume and to recrawl unchanged pages without
        refetching them.
    crawl_runs: one row per run: config fingerprint, status, Scrapy's final stats.
    failures: per run and URL, the last HTTP status or error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from manyheads.crawl._redact import redact

__all__ = ["CRAWL_TABLES", "KnownPage", "Store", "normalize_url"]

metadata = sa.MetaData()

pages = sa.Table(
    "pages",
    metadata,
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("run_id", sa.Integer, nullable=False, index=True),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
    sa.Column("content_type", sa.Text),
    sa.Column("etag", sa.Text),
    sa.Column("last_modified", sa.Text),
    sa.Column("body_hash", sa.String(64), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),
    sa.Column("is_item", sa.Boolean, nullable=False),
    sa.Column("fields", sa.Text),
    sa.Column("links", sa.Text, nullable=False),
    sa.Column("duplicate_of", sa.Text),
    sa.Column("near_duplicate_of", sa.Text),
    sa.Column("minhash", sa.LargeBinary),
    sa.Column("raw_html", sa.LargeBinary),
)

crawl_runs = sa.Table(
    "crawl_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False, index=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("finish_reason", sa.Text),
    sa.Column("n_attempts", sa.Integer, nullable=False, default=1),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("stats", sa.Text),
)

failures = sa.Table(
    "failures",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.Integer),
    sa.Column("error", sa.Text, nullable=False),
)


def normalize_url(url: str) -> str:
    """Turn a user's store address into a SQLAlchemy URL with an installed driver.

    Example:
        >>> normalize_url("postgresql://u@127.0.0.1/db")
        'postgresql+psycopg://u@127.0.0.1/db'
        >>> normalize_url("crawl.db")
        'sqlite:///crawl.db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if "://" not in url:
        return f"sqlite:///{url}"
    return url


@dataclass(frozen=True)
class KnownPage:
    """What a new run needs to know about a stored page."""

    run_id: int
    etag: str | None
    last_modified: str | None
    body_hash: str


def _now() -> datetime:
    return datetime.now(UTC)


def _upsert(engine: sa.Engine, table: sa.Table) -> Any:
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


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
        from manyheads.errors import DataError

        self.url = normalize_url(url)
        shown = redact(url)  # errors name the store without its password
        kwargs: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30}
        try:
            self.engine = sa.create_engine(self.url, **kwargs)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise DataError(f"not a usable store URL: {redact(str(exc))}", path=shown) from None
        if self.engine.dialect.name == "sqlite":
            if create:
                try:
                    _refuse_foreign_sqlite(self.engine.url.database, shown)
                except DataError:
                    self.engine.dispose()
                    raise
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            if create:
                metadata.create_all(self.engine)
            elif not sa.inspect(self.engine).has_table("pages"):
                raise DataError("holds no crawl tables (no 'pages' table).", path=shown)
        except sa.exc.SQLAlchemyError as exc:
            self.engine.dispose()
            orig = getattr(exc, "orig", None)
            reason = redact(str(orig) if orig is not None else str(exc))
            raise DataError(f"cannot open the store: {reason.strip()}", path=shown) from None

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
        stmt = _upsert(self.engine, pages)
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
        stmt = _upsert(self.engine, failures)
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


#: The tables of a crawl store; an existing SQLite file is written into only when it has them.
CRAWL_TABLES = ("pages", "crawl_runs", "failures")


def _refuse_foreign_sqlite(database: str | None, shown: str) -> None:
    """Refuse to write into an existing file that is not a crawl store (nor an empty database).

    ``create_all`` would add the crawl tables to a user's database, and SQLite would turn a
    user's file into a WAL database; only a new file, an empty one, an empty database or a
    crawl store is written into.
    """
    import os
    import sqlite3

    from manyheads.errors import DataError

    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if os.path.isdir(database):
        raise DataError(
            "is a directory; the store must be a SQLite file (e.g. sqlite:///crawl.db).",
            path=shown,
        )
    if not os.path.exists(database) or os.path.getsize(database) == 0:
        return
    with open(database, "rb") as handle:
        header = handle.read(16)
    if header != b"SQLite format 3\x00":
        raise DataError(
            "exists and is not a SQLite database, so it is not a manyheads crawl store; it "
            "was left untouched. Crawl into a new file (store: sqlite:///crawl.db) or move it.",
            path=shown,
        )
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        conn.close()
    except sqlite3.Error as exc:
        raise DataError(f"cannot read the SQLite file: {exc}.", path=shown) from None
    tables = sorted(str(r[0]) for r in rows)
    if tables and not set(CRAWL_TABLES) <= set(tables):
        raise DataError(
            f"is a SQLite database with the tables {', '.join(tables[:8])}"
            f"{' ...' if len(tables) > 8 else ''} but it is not a manyheads crawl store (tables "
            f"{', '.join(CRAWL_TABLES)}); it was left untouched. Crawl into a new file "
            "(store: sqlite:///crawl.db).",
            path=shown,
        )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a crawl writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
