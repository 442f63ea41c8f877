"""Shared fixtures of the architecture unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread: None) -> None:
    """Every test here runs on one intra-op thread (``one_thread`` in tests/conftest.py)."""
