"""The replay scenario's ground truth and the replay site (served on 127.0.0.1)."""

from __future__ import annotations

import json
import urllib.request
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest

from manyheads.errors import DataError, InvalidParameterError
from manyheads.monitor import ReplaySite, Scenario, SimClock, build_scenario, serve_replay


def test_planted_spike_is_in_the_labels(small_scenario: Scenario) -> None:
    s = small_scenario
    assert len(s.articles) == 10 * 30 + 2 * 30
    assert [a.id for a in s.articles] == list(range(1, len(s.articles) + 1))
    truth = s.truth()
    spike = range(s.spike_start, s.spike_start + s.spike_buckets)
    n, x = map(sum, zip(*(truth[("Earnings", b)] for b in spike), strict=True))
    rest = [v for (t, b), v in truth.items() if b not in spike]
    base = sum(x for _, x in rest) / sum(n for n, _ in rest)
    assert x / n > 0.75  # the spike topic's true bearish share in the window
    assert 0.08 < base < 0.2  # everywhere else: about the data's 14.5%
    assert all(a.topic == "Earnings" for a in s.articles if a.planted)
    assert Scenario.from_json(s.to_json()) == s


def test_bad_knobs_and_missing_files(news_data: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="spike_topic must be one of"):
        build_scenario(news_data, spike_topic="Sports")
    with pytest.raises(InvalidParameterError, match="must lie within"):
        build_scenario(news_data, n_buckets=4, spike_start=3, spike_buckets=2)
    with pytest.raises(DataError, match=r"sent_valid\.csv.*not found"):
        build_scenario(tmp_path)


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), b""


def test_site_publishes_as_the_clock_advances(small_scenario: Scenario) -> None:
    s = small_scenario
    clock = SimClock(s.start + timedelta(hours=2))
    site = ReplaySite(s, clock, page_size=20)
    with serve_replay(site) as url:
        first = len(site.visible())
        assert first == sum(a.published <= clock.now() for a in s.articles) > 0
        status, _, body = _get(f"{url}/article/{first}")
        assert status == 200
        assert s.articles[first - 1].headline.split()[0].encode() in body
        assert _get(f"{url}/article/{first + 1}")[0] == 404  # not published yet
        status, headers, full = _get(f"{url}/latest/page/1")
        assert status == 200
        assert full.count(b"/article/") == 20
        clock.advance(3600 * 3)
        assert _get(f"{url}/article/{first + 1}")[0] == 200
        # a full listing page never changes: a recrawl gets 304
        assert _get(f"{url}/latest/page/1", {"If-None-Match": headers["ETag"]})[0] == 304
        feed = ET.fromstring(_get(f"{url}/feed.xml")[2])
        entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
        assert len(entries) == 50
        sitemap = ET.fromstring(_get(f"{url}/sitemap.xml")[2])
        assert len(sitemap) == len(site.visible())
        request = urllib.request.Request(f"{url}/_clock", data=b'{"advance": 3600}', method="POST")
        with urllib.request.urlopen(request, timeout=5) as r:
            state = json.loads(r.read())
        assert state["published"] == len(site.visible()) > first
