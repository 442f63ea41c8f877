"""The runner's checks before a crawl: the job directory, refused start URLs, what is stored."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest

from manyheads.crawl import parse_config
from manyheads.crawl._redact import RedactingFilter
from manyheads.crawl._runner import (
    JOBDIR_MARKER,
    _open_run,
    check_jobdir,
    start_url_refusals,
)
from manyheads.crawl._store import Store
from manyheads.errors import ConfigError


def _job(root: Path, *, marker: bool) -> Path:
    job = root / "job"
    (job / "requests.queue").mkdir(parents=True)
    (job / "requests.queue" / "p0").write_bytes(b"queued")
    (job / "requests.seen").write_text("fp\n")
    (job / "spider.state").write_bytes(b"state")
    if marker:
        (job / JOBDIR_MARKER).write_text("manyheads\n")
    return job


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_check_jobdir_accepts_new_empty_and_job_folders(tmp_path: Path) -> None:
    check_jobdir(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_jobdir(tmp_path / "empty")
    check_jobdir(_job(tmp_path, marker=True))


def test_check_jobdir_refuses_a_users_folder(tmp_path: Path) -> None:
    job = _job(tmp_path, marker=True)
    (job / "notes.txt").write_text("mine\n")
    before = _digests(tmp_path)
    with pytest.raises(ConfigError, match=r"'jobdir': .* holds files .*\(notes.txt\).*Nothing"):
        check_jobdir(job)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a directory"):
        check_jobdir(tmp_path / "file")
    assert {k: v for k, v in _digests(tmp_path).items() if k != "file"} == before


def _config(tmp_path: Path, **extra: object) -> object:
    raw = {
        "start_urls": ["http://127.0.0.1:9/"],
        "store": f"sqlite:///{tmp_path / 'c.db'}",
        "jobdir": str(tmp_path / "job"),
        **extra,
    }
    return parse_config(raw)


def test_a_new_run_clears_only_the_job_files_and_marks_the_folder(tmp_path: Path) -> None:
    _job(tmp_path, marker=False)  # Scrapy's files alone: a job directory Scrapy made
    config = _config(tmp_path)
    check_jobdir(tmp_path / "job")
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    _open_run(store, config)  # type: ignore[arg-type]
    store.close()
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == [JOBDIR_MARKER]


def test_a_new_run_creates_a_marked_jobdir(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    _open_run(store, _config(tmp_path))  # type: ignore[arg-type]
    store.close()
    assert (tmp_path / "job" / JOBDIR_MARKER).is_file()


def test_the_stored_config_has_no_password(tmp_path: Path) -> None:
    config = _config(tmp_path, politeness={"proxies": ["http://px:pxsecret@10.0.0.1:3128"]})
    store = Store(f"sqlite:///{tmp_path / 'c.db'}")
    _open_run(store, config)  # type: ignore[arg-type]
    (run,) = store.runs()
    store.close()
    assert "pxsecret" not in run["config"]
    assert json.loads(run["config"])["politeness"]["proxies"] == ["http://px:***@10.0.0.1:3128"]


def test_start_url_refusals() -> None:
    config = parse_config(
        {
            "start_urls": ["http://127.0.0.1:9/", "http://localhost:9/a", "http://8.8.8.8/"],
            "allowed_domains": ["127.0.0.1", "localhost"],
        }
    )
    refused = start_url_refusals(config)
    assert set(refused) == {"http://127.0.0.1:9/", "http://localhost:9/a", "http://8.8.8.8/"}
    assert "not in allowed_domains" in refused["http://8.8.8.8/"]
    assert "private or loopback address 127.0.0.1" in refused["http://127.0.0.1:9/"]
    allowed = parse_config(
        {"start_urls": ["http://127.0.0.1:9/"], "safety": {"allow_private": True}}
    )
    assert start_url_refusals(allowed) == {}


def test_logs_are_redacted() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("manyheads.test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("Overridden settings: %r", {"PROXIES": ["http://u:pw123@10.0.0.1:1"]})
    finally:
        logger.removeHandler(handler)
    assert "pw123" not in stream.getvalue()
    assert "http://u:***@10.0.0.1:1" in stream.getvalue()
