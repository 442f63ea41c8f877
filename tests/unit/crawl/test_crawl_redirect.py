"""Checked redirects: a foreign scheme or an offsite meta refresh is refused with its reason."""

from __future__ import annotations

import pytest
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.test import get_crawler

from manyheads.crawl._redirect import CheckedMetaRefreshMiddleware, CheckedRedirectMiddleware

SETTINGS = {"MANYHEADS_ALLOWED_DOMAINS": ["127.0.0.1"]}


def _redirect_mw() -> CheckedRedirectMiddleware:
    return CheckedRedirectMiddleware.from_crawler(get_crawler(settings_dict=SETTINGS))


def _meta_mw() -> CheckedMetaRefreshMiddleware:
    return CheckedMetaRefreshMiddleware.from_crawler(get_crawler(settings_dict=SETTINGS))


@pytest.mark.parametrize(
    ("location", "message"),
    [
        (b"file:///etc/passwd", "redirect to file:///etc/passwd (scheme 'file' not allowed"),
        (b"ftp://127.0.0.1/x", "redirect to ftp://127.0.0.1/x (scheme 'ftp' not allowed"),
        (b"data:text/html,hi", "scheme 'data' not allowed"),
        (b"http://evil.example/", "redirect to http://evil.example/ (offsite"),
    ],
)
def test_refused_redirects_name_reason_and_target(location: bytes, message: str) -> None:
    request = Request("http://127.0.0.1:8000/a")
    response = Response(request.url, status=302, headers={"Location": location})
    with pytest.raises(IgnoreRequest) as caught:
        _redirect_mw().process_response(request, response)
    assert message in str(caught.value)


def test_allowed_redirect_is_followed() -> None:
    request = Request("http://127.0.0.1:8000/a")
    response = Response(request.url, status=301, headers={"Location": b"/b"})
    result = _redirect_mw().process_response(request, response)
    assert isinstance(result, Request)
    assert result.url == "http://127.0.0.1:8000/b"


def _refresh(url: str) -> tuple[Request, HtmlResponse]:
    request = Request("http://127.0.0.1:8000/m")
    body = f"<html><head><meta http-equiv='refresh' content='0; url={url}'></head></html>"
    return request, HtmlResponse(request.url, body=body.encode(), encoding="utf-8")


def test_offsite_meta_refresh_is_refused() -> None:
    request, response = _refresh("http://evil.example/x")
    with pytest.raises(IgnoreRequest, match=r"meta refresh to http://evil.example/x \(offsite"):
        _meta_mw().process_response(request, response)


def test_in_domain_meta_refresh_is_followed() -> None:
    request, response = _refresh("/n")
    result = _meta_mw().process_response(request, response)
    assert isinstance(result, Request)
    assert result.url == "http://127.0.0.1:8000/n"
