"""The job directory: a crawl clears only a job directory it made, and marks the ones it makes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.fixtures import run_cli
from crawl_helpers.servers import serve_pages
from manyheads.crawl._runner import JOBDIR_MARKER

pytestmark = pytest.mark.slow

PAGES = {"/": "<a href='/p/1'>1</a> <a href='/p/2'>2</a>"}
PAGES.update({f"/p/{i}": f"<html><body><h1>Page {i}</h1></body></html>" for i in (1, 2)})


def test_jobdir_marked_cleared_and_user_files_kept(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("the user's notes\n")
    with serve_pages(PAGES) as server:
        (tmp_path / "crawl.yaml").write_text(
            f"start_urls: ['{server.url}/']\nallowed_domains: [127.0.0.1]\nstore: c.db\n"
            "safety: {allow_private: true}\nprogress_s: 0\njobdir: job\n"
        )
        first = run_cli("crawl", "crawl.yaml", cwd=tmp_path)
        job = tmp_path / "job"
        assert (job / JOBDIR_MARKER).is_file()
        # An old job's state: a new run (the first one finished) clears it and crawls again.
        (job / "requests.seen").write_text("stale\n")
        second = run_cli("crawl", "crawl.yaml", cwd=tmp_path)
        # A folder of the user's becomes the jobdir: refused, nothing deleted, nothing crawled.
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "data.csv").write_text("a,b\n1,2\n")
        third = run_cli("crawl", "crawl.yaml", "jobdir=mine", cwd=tmp_path, check=False)
    assert "finished (finished)" in first.stdout
    assert "finished" in second.stdout
    assert (job / "requests.seen").read_bytes() != b"stale\n"
    assert (job / JOBDIR_MARKER).is_file()
    assert third.returncode == 2, third.stderr
    assert "'jobdir': 'mine' holds files that are not a crawl job's (data.csv)" in third.stderr
    assert (tmp_path / "mine" / "data.csv").read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["data.csv"]
    assert (tmp_path / "notes.txt").read_text() == "the user's notes\n"
