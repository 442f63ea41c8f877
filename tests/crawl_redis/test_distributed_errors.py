"""Bad distributed-crawl input exits 2 with a message; robots.txt and per-host limits hold."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli
from crawl_redis.linked_site import crawl_yaml, linked_site
from manyheads.crawl import parse_config
from manyheads.errors import ConfigError

_BASE = {"start_urls": ["http://127.0.0.1/"]}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"frontier": "ftp://h/"}, r"'frontier' option .* must be a Redis URL .* Got 'ftp://h/'"),
        ({"frontier": 6379}, r"'frontier' option .* must be a Redis URL"),
        (
            {"frontier": "redis://h:6379/0", "jobdir": "job"},
            r"'jobdir' and 'frontier' exclude each other.* Remove 'jobdir'",
        ),
    ],
)
def test_bad_frontier_is_named(extra: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**_BASE, **extra})


def test_frontier_is_not_part_of_the_crawl_identity() -> None:
    plain = parse_config(_BASE)
    shared = parse_config({**_BASE, "frontier": "redis://h:6379/0"})
    assert shared.frontier == "redis://h:6379/0"
    assert plain.fingerprint() == shared.fingerprint()


@pytest.mark.slow
def test_unreachable_frontier_and_bad_workers_exit_2(tmp_path: Path) -> None:
    yaml = crawl_yaml("http://127.0.0.1:9", "sqlite:///c.db", "redis://u:secret@127.0.0.1:1/0")
    (tmp_path / "crawl.yaml").write_text(yaml)
    proc = run_cli("crawl", "crawl.yaml", "--quiet", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "'frontier': cannot reach the Redis server at redis://u:***@127.0.0.1:1/0" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "secret" not in proc.stderr
    assert not (tmp_path / "c.db").exists()  # refused before the store was written
    proc = run_cli("crawl", "crawl.yaml", "--workers", "0", cwd=tmp_path, check=False)
    assert proc.returncode == 2
    assert "--workers must be between 1 and 256; got 0" in proc.stderr


@pytest.mark.slow
def test_requests_waiting_for_robots_txt_obey_it(tmp_path: Path) -> None:
    """Scrapy 2.19 gave robots.txt's rules to the first waiting request only (a plain crawl)."""
    with linked_site(20, delay_s=0.05) as site:
        starts = [f"{site.url}/p/{i}" for i in range(8)] + [
            f"{site.url}/private/{i}" for i in (1, 2)
        ]
        yaml = crawl_yaml(
            site.url, "sqlite:///c.db", None, starts=starts, max_depth=1, concurrency_per_domain=16
        )
        (tmp_path / "crawl.yaml").write_text(yaml)
        run_cli("crawl", "crawl.yaml", "--quiet", cwd=tmp_path)
        counts = collections.Counter(site.hits.paths())
    assert counts["/robots.txt"] == 1
    assert [p for p in counts if p.startswith("/private/")] == []
    assert counts["/p/7"] == 1


@pytest.mark.slow
def test_plain_crawl_keeps_concurrency_per_domain(tmp_path: Path) -> None:
    """Scrapy 2.19 sent a host's whole queue at once without a delay (14 at once, limit 2)."""
    with linked_site(30, delay_s=0.1) as site:
        yaml = crawl_yaml(site.url, "sqlite:///c.db", None, concurrency_per_domain=2)
        (tmp_path / "crawl.yaml").write_text(yaml)
        run_cli("crawl", "crawl.yaml", "--quiet", cwd=tmp_path)
        hits = list(site.hits.entries)
    assert len(hits) == 32  # home, 30 pages, robots.txt
    events = sorted([(s, 1) for _, s, _ in hits] + [(e, -1) for _, _, e in hits])
    in_flight, peak = 0, 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 2
