"""Open a crawl store's database: the URL, the engine, and the rules for SQLite files.

An existing SQLite file is written into only when it is a crawl store, an empty file or an
empty database; a crawl opens SQLite in WAL mode so that readers work while it writes. Errors
name the store without its password.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from manyheads.crawl._redact import redact
from manyheads.crawl._tables import CRAWL_TABLES, metadata
from manyheads.errors import DataError

__all__ = ["normalize_url", "open_engine", "upsert"]


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


def open_engine(url: str, *, create: bool) -> sa.Engine:
    """The engine of the store at ``url`` (normalised), its tables created when ``create``.

    Raises:
        DataError: the database cannot be reached, or (``create=False``) holds no crawl tables.
    """
    shown = redact(url)  # errors name the store without its password
    address = normalize_url(url)
    kwargs: dict[str, Any] = {}
    if address.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = sa.create_engine(address, **kwargs)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise DataError(f"not a usable store URL: {redact(str(exc))}", path=shown) from None
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine, create=create, shown=shown)
    _check_tables(engine, create=create, shown=shown)
    return engine


def _prepare_sqlite(engine: sa.Engine, *, create: bool, shown: str) -> None:
    """Refuse a user's SQLite file before writing into it; open connections in WAL mode."""
    if create:
        try:
            _refuse_foreign_sqlite(engine.url.database, shown)
        except DataError:
            engine.dispose()
            raise
    sa.event.listen(engine, "connect", _sqlite_pragmas)


def _check_tables(engine: sa.Engine, *, create: bool, shown: str) -> None:
    """Create the crawl tables (``create``), or check that the store has them."""
    try:
        if create:
            metadata.create_all(engine)
        elif not sa.inspect(engine).has_table("pages"):
            raise DataError("holds no crawl tables (no 'pages' table).", path=shown)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        orig = getattr(exc, "orig", None)
        reason = redact(str(orig) if orig is not None else str(exc))
        raise DataError(f"cannot open the store: {reason.strip()}", path=shown) from None


def upsert(engine: sa.Engine, table: sa.Table) -> PgInsert | SqliteInsert:
    """An ``INSERT`` into ``table`` in the dialect of ``engine``, for ``on_conflict_do_update``."""
    if engine.dialect.name == "postgresql":
        return pg_insert(table)
    return sqlite_insert(table)


def _refuse_foreign_sqlite(database: str | None, shown: str) -> None:
    """Refuse to write into an existing file that is not a crawl store (nor an empty database).

    ``create_all`` would add the crawl tables to a user's database, and SQLite would turn a
    user's file into a WAL database; only a new file, an empty one, an empty database or a
    crawl store is written into.
    """
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


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers work while a crawl writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
