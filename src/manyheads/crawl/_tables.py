"""The tables of a crawl store (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Tables:
    pages: every fetched page. ``is_item`` marks records; ``fields`` is their JSON; ``links``
        the page's in-domain links, used to resume and to recrawl unchanged pages without
        refetching them.
    crawl_runs: one row per run: config fingerprint, status, Scrapy's final stats.
    failures: per run and URL, the last HTTP status or error.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["CRAWL_TABLES", "crawl_runs", "failures", "metadata", "pages"]

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

#: The tables of a crawl store; an existing SQLite file is written into only when it has them.
CRAWL_TABLES = ("pages", "crawl_runs", "failures")
