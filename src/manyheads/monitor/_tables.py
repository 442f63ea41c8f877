"""The monitor's tables (SQLAlchemy Core), beside the crawl's in the same database.

Tables:
    monitor_articles: one row per article URL: its headline, publication time, the content
        hash it was scored on, the predicted topic and sentiment, and how often it was scored.
    monitor_buckets: per topic and time bucket: counts, negative share, the chart's baseline,
        limit and state (recomputed each cycle; rows are written only when they change).
    monitor_alerts: the alert history: one row per topic and bucket that fired, with the
        webhook delivery's outcome.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["MONITOR_TABLES", "alerts", "articles", "buckets", "metadata"]

metadata = sa.MetaData()

articles = sa.Table(
    "monitor_articles",
    metadata,
    sa.Column("url", sa.Text, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("headline", sa.Text),
    sa.Column("published_at", sa.DateTime(timezone=True)),
    sa.Column("topic", sa.Text),
    sa.Column("topic_proba", sa.Float),
    sa.Column("sentiment", sa.Text),
    sa.Column("sentiment_proba", sa.Float),
    sa.Column("negative", sa.Boolean),
    sa.Column("problem", sa.Text),
    sa.Column("n_scored", sa.Integer, nullable=False),
    sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
)

buckets = sa.Table(
    "monitor_buckets",
    metadata,
    sa.Column("topic", sa.Text, primary_key=True),
    sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
    sa.Column("n", sa.Integer, nullable=False),
    sa.Column("n_negative", sa.Integer, nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("baseline", sa.Float),
    sa.Column("limit", sa.Float),
    sa.Column("statistic", sa.Float),
    sa.Column("state", sa.String(16), nullable=False),
)

alerts = sa.Table(
    "monitor_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("baseline", sa.Float, nullable=False),
    sa.Column("limit", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("n_negative", sa.Integer, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("delivered", sa.Boolean, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("topic", "bucket_start", name="uq_monitor_alert"),
)

MONITOR_TABLES = ("monitor_articles", "monitor_buckets", "monitor_alerts")
