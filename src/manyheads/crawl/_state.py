"""The state one crawl run shares between its spider, middlewares and pipeline."""

from __future__ import annotations

from dataclasses import dataclass, field

from manyheads.crawl._specs import CrawlConfig
from manyheads.crawl._store import KnownPage, Store

__all__ = ["CrawlState"]


@dataclass
class CrawlState:
    """A run: its config, store, id, and the pages stored before it started.

    ``known`` maps canonical URLs to what the store held when the run started: pages of this
    run (a resumed run) are served from the store; older ones are fetched conditionally.
    """

    config: CrawlConfig
    store: Store
    run_id: int
    resumed: bool = False
    known: dict[str, KnownPage] = field(default_factory=dict)
