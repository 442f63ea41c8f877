"""pytest fixtures for the crawl tests (import them into a test module or conftest)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from crawl_helpers.postgres import postgres_server, unavailable

__all__ = ["DOCS_ROOT", "postgres_url", "run_cli", "run_once"]

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


def run_once(
    factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """Run an expensive crawl once per test session, even across pytest-xdist workers.

    ``produce(workdir)`` returns JSON-able results; other workers wait for them and reuse them.
    """
    base = factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    work = root / f"crawl-{name}"
    with open(root / f"crawl-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = work / "result.json"
        if done.exists():
            result: dict[str, Any] = json.loads(done.read_text())
            return result
        work.mkdir(exist_ok=True)
        result = produce(work)
        done.write_text(json.dumps(result, default=str))
        return json.loads(done.read_text())  # the same (JSON) types on every worker
