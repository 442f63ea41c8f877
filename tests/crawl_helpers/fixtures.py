"""pytest fixtures for the crawl tests (import them into a test module or conftest)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawl_helpers.postgres import postgres_server, unavailable

__all__ = ["DOCS_ROOT", "postgres_url", "run_cli"]

DOCS_ROOT = Path("/usr/share/doc/python3.11/html")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL SQLAlchemy URL (private cluster per test worker)."""
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        unavailable(str(exc))


def run_cli(
    *args: str, cwd: Path, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``manyheads ARGS`` in a fresh process (a Twisted reactor runs once per process)."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "manyheads.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"manyheads {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
            f"\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc
