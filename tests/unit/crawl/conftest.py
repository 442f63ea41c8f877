"""Fixtures for the crawler's unit tests (helpers live in tests/crawl_helpers)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from crawl_helpers.fixtures import postgres_url  # noqa: F401
