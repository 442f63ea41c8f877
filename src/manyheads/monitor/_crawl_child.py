"""Run one crawl in a child process (a Twisted reactor cannot restart, and a monitor crawls
every cycle): ``python -m manyheads.monitor._crawl_child`` reads the crawl config as JSON on
stdin and prints the run's summary as one JSON line; bad input exits 2 with the message."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict


def main() -> int:
    """Crawl the config read from stdin; print the summary."""
    from manyheads.crawl import parse_config, run_crawl
    from manyheads.errors import ManyheadsError

    try:
        summary = run_crawl(parse_config(json.loads(sys.stdin.read())), progress=False)
    except ManyheadsError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps({**asdict(summary), "text": str(summary)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
