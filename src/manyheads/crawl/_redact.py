"""Secrets out of everything a crawl shows or stores: ``user:password@`` becomes ``user:***@``.

Database URLs (``postgresql://user:pw@host/db``) and proxy URLs (``http://user:pw@proxy:3128``)
carry passwords. The store keeps a run's config and Scrapy's stats, errors name the store, and
Scrapy logs its settings: each goes through :func:`redact` first (see docs/crawl.md, "Secrets").
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "redact"]

# scheme://user:password@ ; the password stops at the last '@' before the host part.
_URL_CREDENTIALS = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s'\"<>]*):(?P<secret>[^\s'\"<>]*)@"
    r"(?=[^@\s'\"<>/]*(?:[/\s'\"<>?#]|$))"
)
# libpq key=value connection strings: password=...
_CONNINFO_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<secret>'[^']*'|\S+)", re.I)


def redact(text: str) -> str:
    """``text`` with the password of every URL (and libpq ``password=``) replaced by ``***``.

    Example:
        >>> redact("postgresql+psycopg://crawler:s3cr@t@db.example.org:5432/crawl")
        'postgresql+psycopg://crawler:***@db.example.org:5432/crawl'
        >>> redact("proxies: ['http://u:pw@10.0.0.1:3128', 'http://10.0.0.2:3128']")
        "proxies: ['http://u:***@10.0.0.1:3128', 'http://10.0.0.2:3128']"
        >>> redact("host=db user=u password=hunter2 dbname=crawl")
        'host=db user=u password=*** dbname=crawl'
    """
    text = _URL_CREDENTIALS.sub(r"\g<head>:***@", text)
    return _CONNINFO_PASSWORD.sub(r"\g<head>***", text)


class RedactingFilter(logging.Filter):
    """A logging filter (put on handlers) that redacts every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message when it holds a secret; never drop a record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is logging's to report, not ours
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
