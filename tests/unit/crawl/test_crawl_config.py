"""The crawl config: defaults, every problem at once, "did you mean", overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from manyheads.crawl import load_config, parse_config
from manyheads.errors import ConfigError

ISSUE_EXAMPLE = """\
start_urls: [http://127.0.0.1:8000/]
allowed_domains: [127.0.0.1]
follow: {allow: ['/category/', '/page/\\d+'], deny: ['/login'], max_depth: 5}
items:
  match: '/review/\\d+'
  fields:
    title: {css: 'h1::text'}
    text: {extract: main_text}
    category: {css: '.breadcrumb a:last-child::text'}
    rating: {xpath: '//span[@class="stars"]/@data-value', type: int}
    section: {url_regex: '^/([^/]+)/'}
store: sqlite:///crawl.db
limits: {max_pages: 10000, max_page_bytes: 5000000, timeout_s: 30}
politeness: {obey_robots: true, concurrency_per_domain: 8, autothrottle: true, delay_s: 0,
             user_agent: "manyheads (+https://example.org/bot)", proxies: []}
safety: {allow_private: false}
"""


def test_issue_example_parses(tmp_path: Path) -> None:
    path = tmp_path / "crawl.yaml"
    path.write_text(ISSUE_EXAMPLE)
    cfg = load_config(path)
    assert cfg.start_urls == ("http://127.0.0.1:8000/",)
    assert cfg.follow.max_depth == 5
    assert [f.name for f in cfg.items.fields] == ["title", "text", "category", "rating", "section"]
    assert cfg.items.fields[3].type == "int"
    assert cfg.store.url == "sqlite:///crawl.db"
    assert cfg.politeness.user_agent == "manyheads (+https://example.org/bot)"
    assert not cfg.safety.allow_private


def test_all_problems_reported_at_once() -> None:
    raw = {
        "start_urls": ["ftp://x/"],
        "folow": {},
        "limits": {"max_pages": -1, "timeout": 3},
        "items": {
            "fields": {"t": {"css": "h1", "xpath": "//h1"}, "r": {"css": "b", "type": "integer"}}
        },
        "politeness": {"proxies": "http://p"},
        "store": {"url": "sqlite:///x.db", "raw_htm": True},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="c.yaml")
    text = str(info.value)
    assert text.startswith("c.yaml: 8 problems in the configuration:")
    assert "'ftp://x/' is not an http:// or https:// URL" in text
    assert "unknown top-level key 'folow'" in text
    assert "Did you mean 'follow'?" in text
    assert "The 'limits.max_pages' option of the crawl config must be an int >= 0. Got -1" in text
    assert "Did you mean 'timeout_s'?" in text
    assert (
        "'items.fields.t' option of the crawl config must be a mapping with exactly one of " in text
    )
    assert "css, xpath, extract, url_regex. Got {'css': 'h1', 'xpath': '//h1'} instead." in text
    assert "It has ['css', 'xpath']." in text
    assert "Did you mean 'int'?" in text
    assert "'politeness.proxies' option of the crawl config must be a list, each item a " in text
    assert "Did you mean 'raw_html'?" in text


def test_bad_regex_and_extractor() -> None:
    raw = {
        "start_urls": ["http://h/"],
        "follow": {"allow": ["("]},
        "items": {"match": "[", "fields": {"t": {"extract": "main_txt"}}},
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    problems = info.value.problems
    assert len(problems) == 3
    assert any("Did you mean 'main_text'?" in p for p in problems)
    assert sum("must be a valid regular expression" in p for p in problems) == 2


def test_overrides_take_precedence(tmp_path: Path) -> None:
    path = tmp_path / "crawl.yaml"
    path.write_text(ISSUE_EXAMPLE)
    cfg = load_config(
        path, ["limits.max_pages=7", "store.raw_html=true", "safety.allow_private=true"]
    )
    assert cfg.limits.max_pages == 7
    assert cfg.store.raw_html
    assert cfg.store.url == "sqlite:///crawl.db"
    assert cfg.safety.allow_private
    with pytest.raises(ConfigError, match=r"must look like key\.sub=value"):
        load_config(path, ["limits.max_pages"])


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the crawl config"):
        load_config(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("start_urls: [\n")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_config(bad)


def test_fingerprint_ignores_politeness() -> None:
    a = parse_config({"start_urls": ["http://h/"], "politeness": {"delay_s": 1}})
    b = parse_config({"start_urls": ["http://h/"]})
    c = parse_config({"start_urls": ["http://h/"], "follow": {"max_depth": 2}})
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_bad_selectors_reported() -> None:
    raw = {
        "start_urls": ["http://h/"],
        "items": {
            "fields": {
                "a": {"css": "h1::text["},
                "b": {"xpath": "//h1[@"},
                "c": {"xpath": "nosuchfn(//h1)"},
            }
        },
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    problems = info.value.problems
    assert len(problems) == 3
    assert "'items.fields.a.css' option of the crawl config must be a valid CSS sel" in problems[0]
    assert "'items.fields.b.xpath' option of the crawl config must be a valid XPath" in problems[1]
    assert "Unregistered function" in problems[2]
