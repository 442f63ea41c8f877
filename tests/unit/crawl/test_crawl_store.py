"""The store on SQLite and PostgreSQL: idempotent upserts, touches, failures, runs, read_store."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawl_helpers.postgres import fresh_database
from manyheads.crawl import read_store
from manyheads.crawl._store import Store, normalize_url
from manyheads.errors import DataError


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crawl.db'}"
    else:
        server = request.getfixturevalue("postgres_url")
        yield fresh_database(server, f"t_{uuid.uuid4().hex[:12]}")


def _page(url: str, run: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = dict(
        url=url,
        run_id=run,
        status=200,
        depth=1,
        body_hash="b",
        content_hash="c",
        is_item=True,
        fields=json.dumps({"title": url[-1], "rating": 4}),
        links="[]",
    )
    row.update(extra)
    return row


def test_upsert_is_idempotent(store_url: str) -> None:
    store = Store(store_url)
    run = store.start_run("fp", config="{}")
    store.write_pages([_page("http://h/a", run), _page("http://h/b", run)])
    store.write_pages([_page("http://h/a", run, fields='{"title": "new"}')])
    rows = store.page_rows()
    assert [r["url"] for r in rows] == ["http://h/a", "http://h/b"]
    assert json.loads(rows[0]["fields"]) == {"title": "new"}
    store.close()


def test_touch_keeps_content(store_url: str) -> None:
    store = Store(store_url)
    run = store.start_run("fp", config="{}")
    store.write_pages([_page("http://h/a", run, etag='"x"')])
    before = store.page_rows()[0]
    store.touch_pages(["http://h/a"], run + 1)
    after = store.page_rows()[0]
    assert after["run_id"] == run + 1
    assert after["fields"] == before["fields"]
    assert after["fetched_at"] == before["fetched_at"]
    assert after["checked_at"] >= before["checked_at"]
    assert store.known_pages()["http://h/a"].etag == '"x"'
    store.close()


def test_failures_one_per_run_and_url(store_url: str) -> None:
    store = Store(store_url)
    run = store.start_run("fp", config="{}")
    store.write_failures([{"run_id": run, "url": "http://h/x", "status": None, "error": "a"}])
    store.write_failures([{"run_id": run, "url": "http://h/x", "status": 503, "error": "b"}])
    (failure,) = store.failures(run)
    assert (failure["status"], failure["error"]) == (503, "b")
    store.clear_failure(run, ["http://h/x"])
    assert store.failures(run) == []
    store.close()


def test_runs_resume_and_finish(store_url: str) -> None:
    store = Store(store_url)
    run = store.start_run("fp", config="{}")
    assert store.unfinished_run("fp") == (run, "running")
    assert store.unfinished_run("other") is None
    store.reopen_run(run)
    store.finish_run(run, status="finished", reason="finished", stats={"pages": 3})
    assert store.unfinished_run("fp") is None
    (record,) = store.runs()
    assert record["n_attempts"] == 2
    assert record["stats"] == {"pages": 3}
    store.close()


def test_read_store(store_url: str) -> None:
    store = Store(store_url)
    run = store.start_run("fp", config="{}")
    store.write_pages([_page("http://h/b", run), _page("http://h/a", run)])
    store.write_pages([_page("http://h/list", run, is_item=False, fields=None)])
    store.close()
    frame = read_store(store_url)
    assert list(frame.columns) == ["rating", "title", "url"]
    assert frame["url"].tolist() == ["http://h/a", "http://h/b"]
    assert frame["rating"].tolist() == [4, 4]


def test_content_hashes_and_minhashes(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "c.db"))
    run = store.start_run("fp", config="{}")
    store.write_pages([_page("http://h/b", run, minhash=b"\x01" * 4), _page("http://h/a", run)])
    assert store.content_hashes() == {"c": "http://h/a"}
    assert list(store.minhashes()) == [("http://h/b", b"\x01" * 4)]
    store.close()


def test_read_store_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no crawl store at"):
        read_store(f"sqlite:///{tmp_path / 'absent.db'}")


def test_read_store_has_no_side_effects(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).close()
    with pytest.raises(DataError, match="holds no crawl tables"):
        read_store(str(path))
    assert sqlite3.connect(path).execute("select count(*) from sqlite_master").fetchone() == (0,)


def test_unreachable_server_is_a_data_error() -> None:
    with pytest.raises(DataError, match="cannot open the store"):
        Store("postgresql://postgres@127.0.0.1:1/none")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("crawl.db", "sqlite:///crawl.db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def test_postgres_password_never_shown(postgres_url: str) -> None:
    # The private cluster trusts every connection, so a password is accepted and ignored.
    missing = _with_password(postgres_url.rsplit("/", 1)[0] + "/no_such_db", "topsecret")
    with pytest.raises(DataError) as caught:
        Store(missing)
    assert "topsecret" not in str(caught.value)
    assert "postgres:***@127.0.0.1" in str(caught.value)
    assert "no_such_db" in str(caught.value)
    with pytest.raises(DataError) as caught:
        read_store(missing)
    assert "topsecret" not in str(caught.value)

    url = _with_password(fresh_database(postgres_url, f"t_{uuid.uuid4().hex[:12]}"), "topsecret")
    store = Store(url)
    config = {"store": {"url": url}, "proxies": ["http://px:pxsecret@10.0.0.1:3128"]}
    run = store.start_run("fp", config=json.dumps(config))
    store.write_failures(
        [dict(run_id=run, url="http://h/a", status=None, error="TunnelError: http://px:pxsecret@p")]
    )
    store.finish_run(run, status="finished", reason="finished", stats={"proxy": url})
    (row,) = store.runs()
    stored = json.dumps(row, default=str) + json.dumps(store.failures(), default=str)
    store.close()
    assert "topsecret" not in stored
    assert "pxsecret" not in stored
    assert "postgres:***@127.0.0.1" in row["config"]
    assert "px:***@10.0.0.1" in row["config"]


def test_existing_files_that_are_not_crawl_stores_are_refused(tmp_path: Path) -> None:
    csv = tmp_path / "data.db"
    csv.write_text("id,text\n1,mine\n")
    with pytest.raises(DataError, match=r"not a SQLite database.*left untouched"):
        Store(str(csv))
    assert csv.read_text() == "id,text\n1,mine\n"

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (id INTEGER)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(DataError, match="tables customers but it is not a manyheads crawl store"):
        Store(f"sqlite:///{other}")
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.db", "other.db"]


def test_new_empty_and_crawl_store_files_are_used(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    for path in (tmp_path / "new.db", empty):
        Store(str(path)).close()
        Store(str(path)).close()  # a crawl store now: opened again
    empty_database = tmp_path / "empty-database.sqlite"
    sqlite3.connect(empty_database).close()
    Store(str(empty_database)).close()
