"""Bad-input catalogue, crawler group: every case exits 2, without a traceback, naming the place.

Most cases are refused before a request is sent, so they run in-process. A Twisted reactor runs
once per process, so the cases that need a crawl to find out (robots.txt, redirects) run
``manyheads crawl`` in a subprocess against a server on 127.0.0.1.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.catalogue._harness import Outcome, Run, assert_kept, assert_refused, snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crawl_helpers.servers import serve_pages

# A start URL that passes every check made before the crawl (nothing listens on port 9).
OK_START = "start_urls: ['http://127.0.0.1:9/']\nsafety: {allow_private: true}\nprogress_s: 0\n"

Setup = Callable[[Path], None]


def _nothing(root: Path) -> None:
    pass


def _user_csv(name: str) -> Setup:
    def make(root: Path) -> None:
        (root / name).write_text("id,text\n1,my own data\n")

    return make


def _user_sqlite(root: Path) -> None:
    conn = sqlite3.connect(root / "customers.db")
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO customers VALUES (1, 'Ada')")
    conn.commit()
    conn.close()


def _user_folder(*names: str) -> Setup:
    def make(root: Path) -> None:
        folder = root / "job"
        folder.mkdir()
        for name in names:
            (folder / name).write_text(f"user file {name}\n")

    return make


def _store_dir(root: Path) -> None:
    (root / "crawl.db").mkdir()
    (root / "crawl.db" / "keep.txt").write_text("mine\n")


# (config text, extra argv, setup, names that the message must hold)
CONFIG_CASES = [
    pytest.param(
        OK_START + "store: not a url at all\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.url'", "sqlite:///", "'not a url at all'"),
        id="store-not-a-url-at-all",
    ),
    pytest.param(
        OK_START + "store: crawl\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.url'", ".db, .sqlite, .sqlite3"),
        id="store-path-without-database-extension",
    ),
    pytest.param(
        OK_START + "store: notes.txt\n",
        (),
        _user_csv("notes.txt"),
        ("crawl.yaml", "'store.url'", "'notes.txt'"),
        id="store-path-with-a-text-extension",
    ),
    pytest.param(
        OK_START + "store: 'mysql://u@127.0.0.1/crawl'\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.url'", "'mysql'", "PostgreSQL"),
        id="store-database-not-supported",
    ),
    pytest.param(
        OK_START + "store: 'sqlite://crawl.db'\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.url'", "three slashes"),
        id="store-sqlite-url-with-two-slashes",
    ),
    pytest.param(
        OK_START + "store: ''\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.url'", "non-empty string"),
        id="store-empty",
    ),
    pytest.param(
        OK_START + "store: {url: 'sqlite:///c.db', near_duplicate_threshold: 2}\n",
        (),
        _nothing,
        ("crawl.yaml", "'store.near_duplicate_threshold'"),
        id="store-threshold-out-of-range",
    ),
    pytest.param(
        OK_START + "store: 'sqlite:///c.db'\n",
        ("store=not a url",),
        _nothing,
        ("crawl.yaml", "'store.url'", "'not a url'"),
        id="store-override-not-a-url",
    ),
    pytest.param(
        OK_START,
        ("limits.max_pages=[1,",),
        _nothing,
        ("crawl.yaml", "override 'limits.max_pages=[1,'", "not valid YAML"),
        id="override-value-not-yaml",
    ),
    pytest.param(
        OK_START,
        ("limits.max_pages",),
        _nothing,
        ("crawl.yaml", "override 'limits.max_pages'", "key.sub=value"),
        id="override-without-equals",
    ),
    pytest.param(
        "start_urls: ['file:///etc/passwd']\n",
        (),
        _nothing,
        ("crawl.yaml", "'start_urls'", "'file:///etc/passwd'"),
        id="start-url-file-scheme",
    ),
    pytest.param(
        "store: sqlite:///c.db\n",
        (),
        _nothing,
        ("crawl.yaml", "'start_urls' option of the crawl config must be a non-empty list"),
        id="start-urls-missing",
    ),
    pytest.param(
        OK_START + "folow: {allow: ['/a/']}\n",
        (),
        _nothing,
        ("crawl.yaml", "'folow'", "Did you mean 'follow'"),
        id="unknown-top-level-key",
    ),
    pytest.param(
        OK_START + "items: {match: '.', fields: {title: {css: 'h1:::text'}}}\n",
        (),
        _nothing,
        ("crawl.yaml", "'items.fields.title.css'", "must be a valid CSS selector"),
        id="bad-css-selector",
    ),
    pytest.param(
        OK_START + "jobdir: 7\n",
        (),
        _nothing,
        ("crawl.yaml", "'jobdir' option of the crawl config must be a directory path or None"),
        id="jobdir-not-a-path",
    ),
]


@pytest.mark.parametrize(("text", "extra", "setup", "names"), CONFIG_CASES)
def test_bad_crawl_config(
    run: Run,
    tmp_path: Path,
    text: str,
    extra: tuple[str, ...],
    setup: Setup,
    names: tuple[str, ...],
) -> None:
    (tmp_path / "crawl.yaml").write_text(text)
    setup(tmp_path)
    before = snapshot(tmp_path)
    outcome = run("crawl", "crawl.yaml", *extra, cwd=tmp_path)
    assert_refused(outcome, *names)
    assert_kept(before, tmp_path)
    assert snapshot(tmp_path) == before, "a refused config wrote a file"


SECRET_CASES = [
    pytest.param(
        OK_START + "store: 'mongodb://crawler:hunter2@127.0.0.1/crawl'\n",
        ("crawl.yaml", "'store.url'", "crawler:***@127.0.0.1"),
        id="store-url-with-password-redacted",
    ),
    pytest.param(
        OK_START + "politeness: {proxies: 'http://px:hunter2@10.0.0.1:3128'}\n",
        ("crawl.yaml", "'politeness.proxies'", "px:***@10.0.0.1"),
        id="proxy-with-password-redacted",
    ),
]


@pytest.mark.parametrize(("text", "names"), SECRET_CASES)
def test_a_refusal_never_echoes_a_password(
    run: Run, tmp_path: Path, text: str, names: tuple[str, ...]
) -> None:
    (tmp_path / "crawl.yaml").write_text(text)
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, *names)
    assert "hunter2" not in outcome.stderr + outcome.stdout


def test_config_not_utf8(run: Run, tmp_path: Path) -> None:
    (tmp_path / "crawl.yaml").write_bytes(b"start_urls: ['http://127.0.0.1/caf\xe9']\n")
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "crawl.yaml", "line 1", "not UTF-8")


def test_config_is_a_directory(run: Run, tmp_path: Path) -> None:
    (tmp_path / "crawl.yaml").mkdir()
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "crawl.yaml", "is a directory")


# Refused when the store is opened: an existing file that is not a crawl store is never written.
STORE_FILE_CASES = [
    pytest.param(
        "store: data.db\n",
        _user_csv("data.db"),
        ("data.db", "not a SQLite database", "left untouched"),
        id="store-is-a-users-csv",
    ),
    pytest.param(
        "store: 'sqlite:///customers.db'\n",
        _user_sqlite,
        ("customers.db", "tables customers", "not a manyheads crawl store"),
        id="store-is-a-users-sqlite-database",
    ),
    pytest.param(
        "store: crawl.db\n",
        _store_dir,
        ("crawl.db", "is a directory"),
        id="store-is-a-directory",
    ),
]


@pytest.mark.parametrize(("store", "setup", "names"), STORE_FILE_CASES)
def test_store_file_not_a_crawl_store(
    run: Run, tmp_path: Path, store: str, setup: Setup, names: tuple[str, ...]
) -> None:
    (tmp_path / "crawl.yaml").write_text(OK_START + store)
    setup(tmp_path)
    before = snapshot(tmp_path)
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, *names)
    assert snapshot(tmp_path) == before, "the user's file was changed or a file was added"


JOBDIR_CASES = [
    pytest.param(
        "job",
        _user_folder("notes.txt"),
        ("'jobdir'", "'job'", "notes.txt", "Nothing was deleted"),
        id="jobdir-holds-user-files",
    ),
    pytest.param(
        "job",
        _user_folder("requests.seen", "results.csv"),
        ("'jobdir'", "results.csv", "Nothing was deleted"),
        id="jobdir-holds-job-and-user-files",
    ),
    pytest.param(
        ".",
        _nothing,
        ("'jobdir'", "'.'", "crawl.yaml", "Nothing was deleted"),
        id="jobdir-is-the-working-directory",
    ),
    pytest.param(
        "notes.txt",
        _user_csv("notes.txt"),
        ("'jobdir'", "'notes.txt' is a file"),
        id="jobdir-is-a-file",
    ),
]


@pytest.mark.parametrize(("jobdir", "setup", "names"), JOBDIR_CASES)
def test_jobdir_not_a_job_directory(
    run: Run, tmp_path: Path, jobdir: str, setup: Setup, names: tuple[str, ...]
) -> None:
    (tmp_path / "crawl.yaml").write_text(OK_START + f"store: c.db\njobdir: '{jobdir}'\n")
    setup(tmp_path)
    before = snapshot(tmp_path)
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "crawl.yaml", *names)
    assert snapshot(tmp_path) == before, "the jobdir's files were touched or a store was written"


# Every start URL is refused before a byte is sent: exit 2, the reason per URL, no store written.
REFUSED_START_CASES = [
    pytest.param(
        "start_urls: ['http://127.0.0.1:9/']\n",
        ("'start_urls'", "http://127.0.0.1:9/", "private or loopback", "safety.allow_private"),
        id="start-url-loopback",
    ),
    pytest.param(
        "start_urls: ['http://localhost:9/a']\n",
        ("http://localhost:9/a", "'localhost' resolves to the private or loopback address"),
        id="start-url-name-resolving-to-loopback",
    ),
    pytest.param(
        "start_urls: ['http://10.0.0.1/', 'http://192.168.1.1/', 'http://[::1]/']\n",
        ("http://10.0.0.1/", "http://192.168.1.1/", "http://[::1]/", "Every start URL was refused"),
        id="start-urls-all-private",
    ),
    pytest.param(
        "start_urls: ['http://127.0.0.1:9/']\nallowed_domains: [example.org]\n"
        "safety: {allow_private: true}\n",
        ("http://127.0.0.1:9/", "not in allowed_domains"),
        id="start-url-offsite",
    ),
    pytest.param(
        "start_urls: ['http://nonexistent.invalid/']\n",
        ("http://nonexistent.invalid/", "cannot resolve 'nonexistent.invalid'"),
        id="start-url-host-does-not-resolve",
    ),
    pytest.param(
        "start_urls: ['http://crawler:hunter2@127.0.0.1:9/']\n",
        ("http://crawler:***@127.0.0.1:9/", "private or loopback"),
        id="start-url-credentials-redacted",
    ),
]


@pytest.mark.parametrize(("text", "names"), REFUSED_START_CASES)
def test_every_start_url_refused_before_the_crawl(
    run: Run, tmp_path: Path, text: str, names: tuple[str, ...]
) -> None:
    (tmp_path / "crawl.yaml").write_text(text + "store: c.db\nprogress_s: 0\n")
    before = snapshot(tmp_path)
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "crawl.yaml", *names)
    assert "hunter2" not in outcome.stderr
    assert snapshot(tmp_path) == before, "a refused crawl wrote a file"


def test_crawl_extra_missing(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "crawl.yaml").write_text(OK_START)
    monkeypatch.setitem(sys.modules, "parsel", None)  # as if the extra were not installed
    outcome = run("crawl", "crawl.yaml", cwd=tmp_path)
    assert_refused(outcome, "'crawl' extra", "parsel", "pip install 'manyheads[crawl]'")
    assert "ModuleNotFoundError" not in outcome.stderr


def test_crawl_help_without_the_extra(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for module in ("parsel", "scrapy", "sqlalchemy"):
        monkeypatch.setitem(sys.modules, module, None)
    outcome = run("crawl", "--help", cwd=tmp_path)
    assert outcome.code == 0, outcome.stderr
    assert "CRAWL.yaml" in outcome.stdout


# ---- refused during the crawl (a subprocess: one Twisted reactor per process) ---------------


def _crawl_subprocess(cwd: Path) -> Outcome:
    proc = subprocess.run(
        [sys.executable, "-m", "manyheads.cli.main", "crawl", "crawl.yaml"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


ROBOTS_ALL = {"/robots.txt": "User-agent: *\nDisallow: /\n", "/": "<a href='/a'>a</a>"}


def _site(path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes] | None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    if path == "/robots.txt":
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nDisallow: /private/\n"
    if path == "/to-file":
        return 302, {"Location": "file:///etc/passwd"}, b""
    if path == "/meta":
        return 200, html, b"<meta http-equiv='refresh' content='0; url=http://example.org/'>"
    return None


CRAWL_CASES = [
    pytest.param(
        ["/"],
        ROBOTS_ALL,
        ("'start_urls'", "/: IgnoreRequest: Forbidden by robots.txt", "nothing was crawled"),
        id="robots-disallows-every-start-url",
    ),
    pytest.param(
        ["/to-file"],
        _site,
        ("/to-file", "redirect to file:///etc/passwd (scheme 'file' not allowed"),
        id="start-url-redirects-to-file",
    ),
    pytest.param(
        ["/meta", "/private/x"],
        _site,
        ("/meta", "meta refresh to http://example.org/ (offsite", "Forbidden by robots.txt"),
        id="offsite-meta-refresh-and-robots",
    ),
]


@pytest.mark.slow  # a crawl in a fresh process: about 5-15 s on a loaded machine
@pytest.mark.parametrize(("paths", "pages", "names"), CRAWL_CASES)
def test_every_start_url_refused_during_the_crawl(
    tmp_path: Path, paths: list[str], pages: Any, names: tuple[str, ...]
) -> None:
    with serve_pages(pages) as server:
        starts = ", ".join(f"'{server.url}{p}'" for p in paths)
        (tmp_path / "crawl.yaml").write_text(
            f"start_urls: [{starts}]\nallowed_domains: [127.0.0.1]\nstore: c.db\n"
            "safety: {allow_private: true}\nprogress_s: 0\nretries: {times: 0}\n"
        )
        (tmp_path / "keep.txt").write_text("mine\n")
        before = snapshot(tmp_path)
        outcome = _crawl_subprocess(tmp_path)
        requested = server.log.paths()
    assert_refused(outcome, "crawl.yaml", *names)
    assert_kept(before, tmp_path)
    assert "/private/x" not in requested
    assert "crawl run" not in outcome.stdout, "a refused crawl printed a finished summary"
