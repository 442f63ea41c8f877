"""Crawl websites into a store, then read the records back (``manyheads crawl``).

Importing this package is cheap: Scrapy, SQLAlchemy and pandas are imported by the functions
that need them. See ``docs/crawl.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from manyheads.crawl._config import load_config, parse_config
from manyheads.crawl._specs import CrawlConfig

if TYPE_CHECKING:
    import pandas as pd

    from manyheads.crawl._runner import CrawlSummary

__all__ = ["CrawlConfig", "load_config", "parse_config", "read_store", "run_crawl"]


def read_store(url: str, /) -> pd.DataFrame:
    """The records of a crawl store: one row per canonical URL, item fields as columns plus ``url``.

    Args:
        url: a SQLAlchemy URL (``sqlite:///crawl.db``, ``postgresql://user@host/db``) or a path
            to a SQLite file.

    Raises:
        DataError: the store cannot be opened or holds no crawl tables.

    Example:
        >>> import tempfile, os
        >>> from manyheads.crawl._store import Store
        >>> path = os.path.join(tempfile.mkdtemp(), "c.db")
        >>> s = Store(path); run = s.start_run("f", config="{}")
        >>> s.write_pages([dict(url="http://h/r/1", run_id=run, status=200, depth=1, body_hash="b",
        ...     content_hash="c", is_item=True, fields='{"rating": 5}', links="[]")])
        >>> read_store(f"sqlite:///{path}")
           rating           url
        0       5  http://h/r/1
    """
    import pandas as pd
    import sqlalchemy as sa

    from manyheads.crawl._redact import redact
    from manyheads.crawl._store import Store, normalize_url
    from manyheads.errors import DataError

    full = normalize_url(url)
    shown = redact(url)
    if full.startswith("sqlite:///") and full != "sqlite:///":
        path = full[len("sqlite:///") :]
        import os

        if not os.path.exists(path):
            raise DataError(f"no crawl store at {path!r}; run `manyheads crawl` first.", path=shown)
    store = Store(full, create=False)
    try:
        records = store.read_records()
    except sa.exc.SQLAlchemyError as exc:
        raise DataError(
            f"cannot read the crawl store: {exc.__class__.__name__}: {redact(str(exc))}",
            path=shown,
        ) from None
    finally:
        store.close()
    columns = [*sorted({k for r in records for k in r if k != "url"}), "url"]
    return pd.DataFrame.from_records(records, columns=columns)


def run_crawl(config: CrawlConfig, *, progress: bool = True) -> CrawlSummary:
    """Run a crawl in this process (once per process: Twisted's reactor cannot restart).

    See :func:`manyheads.crawl._runner.run_crawl`.
    """
    from manyheads.crawl._runner import run_crawl as _run

    return _run(config, progress=progress)
