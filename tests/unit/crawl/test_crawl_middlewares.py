"""Safety, retry back-off and spider helpers, without a running crawl."""

from __future__ import annotations

import asyncio

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.settings import Settings

from manyheads.crawl._retry import BackoffRetryMiddleware, retry_after_seconds
from manyheads.crawl._safety import SafetyMiddleware, is_public_address
from manyheads.crawl._spider import looks_binary
from manyheads.crawl._urls import canonical_url, host_allowed


def _check(mw: SafetyMiddleware, url: str) -> None:
    asyncio.run(mw.process_request(Request(url)))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/x", "scheme 'ftp'"),
        ("http://evil.example/", "not in allowed_domains"),
        ("http://127.0.0.1:9/", "private or loopback address 127.0.0.1"),
        ("http://localhost:9/", "'localhost' resolves to the private or loopback address"),
        ("http://[::1]:9/", "private or loopback address ::1"),
        ("http://10.0.0.8/", "private or loopback address 10.0.0.8"),
    ],
)
def test_safety_refuses(url: str, message: str) -> None:
    mw = SafetyMiddleware(["127.0.0.1", "localhost", "::1", "10.0.0.8"], allow_private=False)
    with pytest.raises(IgnoreRequest, match=message.replace("[", r"\[")):
        _check(mw, url)


def test_safety_allows_private_when_told() -> None:
    mw = SafetyMiddleware(["127.0.0.1"], allow_private=True)
    _check(mw, "http://127.0.0.1:9/")
    with pytest.raises(IgnoreRequest, match="not in allowed_domains"):
        _check(mw, "http://localhost:9/")


def test_public_addresses() -> None:
    assert is_public_address("93.184.216.34")
    assert not is_public_address("::ffff:127.0.0.1")
    assert not is_public_address("169.254.1.1")
    assert not is_public_address("100.64.0.1")


def test_host_rules() -> None:
    assert host_allowed("a.b.example.org", ["example.org"])
    assert not host_allowed("badexample.org", ["example.org"])
    assert host_allowed("anything", [])
    assert canonical_url("http://h/p?b=1&a=2#frag") == "http://h/p?a=2&b=1"


def test_retry_after_and_backoff() -> None:
    assert retry_after_seconds(b" 7 ") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412500) == 0.0
    settings = Settings(
        {"MANYHEADS_BACKOFF": 0.5, "MANYHEADS_MAX_BACKOFF": 3, "MANYHEADS_MAX_RETRY_AFTER": 10}
    )
    mw = BackoffRetryMiddleware(settings)
    delays = [mw._delay(Request("http://h/", meta={"retry_times": n}), None) for n in (1, 2, 3, 4)]
    assert delays == [0.5, 1.0, 2.0, 3.0]
    from scrapy.http import Response

    late = Response("http://h/", status=503, headers={"Retry-After": "60"})
    assert mw._delay(Request("http://h/", meta={"retry_times": 1}), late) == 10.0


def test_binary_detection() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert not looks_binary("<p>héllo</p>".encode())
    assert not looks_binary(b"")


def test_spider_errors_become_failures() -> None:
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from manyheads.crawl._failures import SpiderErrorMiddleware
    from manyheads.crawl._items import FailureItem

    crawler = get_crawler()
    crawler.stats.open_spider()
    mw = SpiderErrorMiddleware.from_crawler(crawler)
    response = HtmlResponse("http://h/p#x", body=b"<p>x</p>", status=200)
    (item,) = mw.process_spider_exception(response, ValueError("bad page"))
    assert item == FailureItem("http://h/p", 200, "spider error: ValueError: bad page")
