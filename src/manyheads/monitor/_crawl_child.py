"""Run one crawl in a child process (a Twisted reactor cannot restart, and a monitor crawls
every cycle): :func:`crawl_once` starts ``python -m manyheads.monitor._crawl_child``, which reads
the crawl config as JSON on stdin and prints the run's summary as one JSON line; bad input exits
2 with the message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict
from typing import Any

from manyheads.errors import ManyheadsError

__all__ = ["crawl_once"]


def crawl_once(crawl: dict[str, Any]) -> dict[str, Any]:
    """Run the crawl in a child process (Twisted's reactor runs once per process).

    Raises:
        ManyheadsError: the crawl refused its input (the child's message) or failed.
    """
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, "-m", "manyheads.monitor._crawl_child"],
        input=json.dumps(crawl),
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip()[-2000:] or f"exit code {proc.returncode}"
        raise ManyheadsError(f"the crawl failed: {tail}")
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return summary


def main() -> int:
    """Crawl the config read from stdin; print the summary."""
    from manyheads.crawl import parse_config, run_crawl

    try:
        summary = run_crawl(parse_config(json.loads(sys.stdin.read())), progress=False)
    except ManyheadsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps({**asdict(summary), "text": str(summary)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
