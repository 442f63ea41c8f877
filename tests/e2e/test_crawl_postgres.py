"""Crawl the review site into PostgreSQL; read it back; a second run changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import postgres_url, run_cli  # noqa: F401
from crawl_helpers.postgres import fresh_database
from crawl_helpers.review_site import make_review_site, review_crawl_yaml
from crawl_helpers.servers import serve_pages
from manyheads.crawl import read_store
from manyheads.crawl._store import Store

pytestmark = pytest.mark.slow


def test_crawl_into_postgres(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    url = fresh_database(postgres_url, "crawl_e2e")
    site = make_review_site(120)
    with serve_pages(site.pages) as server:
        (tmp_path / "crawl.yaml").write_text(review_crawl_yaml(server.url, url))
        first = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
        second = run_cli("crawl", "crawl.yaml", cwd=tmp_path).stdout
    frame = read_store(url)
    assert len(frame) == 120 + len(site.extra)
    assert set(frame.columns) == {"title", "text", "category", "rating", "review_id", "url"}
    assert frame["rating"].between(1, 5).all()
    assert f"{120 + len(site.extra)} records written" in first
    assert "0 records written" in second
    store = Store(url)
    flagged = {r["url"].rsplit("/", 1)[1]: r for r in store.page_rows(items_only=True)}
    for path, (kind, source) in site.extra.items():
        copy = flagged[path.rsplit("/", 1)[1]]
        marker = copy["duplicate_of"] if kind == "exact" else copy["near_duplicate_of"]
        original = flagged[str(source)]
        other = original["duplicate_of"] if kind == "exact" else original["near_duplicate_of"]
        assert (marker or "").endswith(f"/review/{source}") or (other or "").endswith(path), kind
    assert [r["status"] for r in store.runs()] == ["finished", "finished"]
    store.close()
