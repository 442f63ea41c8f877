"""Field extraction: css, xpath, url_regex, main text (landmark and trafilatura), types, hashes."""

from __future__ import annotations

import pytest

from manyheads.crawl._fields import convert, extract_page, landmark_text
from manyheads.crawl._specs import FieldSpec

PAGE = b"""<html><head><title>T</title></head><body>
<nav><a href='/'>Home</a> <a href='/c/shoes'>Shoes</a></nav>
<span class='stars' data-value='4'>****</span><b class='n'>12 reviews</b>
<main><h1>Great shoes</h1><p>These shoes are comfortable and light.</p>
<script>var x = 1;</script><p>I wear them every day.</p></main>
<ul><li>a</li><li>b</li></ul><footer>(c) shop</footer></body></html>"""

SPECS = (
    FieldSpec("title", css="h1::text"),
    FieldSpec("category", css="nav a:last-child::text"),
    FieldSpec("rating", xpath="//span[@class='stars']/@data-value", type="int"),
    FieldSpec("n", css="b.n::text", type="float"),
    FieldSpec("tags", css="li::text", all=True),
    FieldSpec("section", url_regex=r"^/([^/]+)/"),
    FieldSpec("text", extract="main_text"),
    FieldSpec("absent", css="h6::text"),
)


def test_fields_read_by_each_source() -> None:
    page = extract_page(PAGE, "utf-8", "http://h/shop/item/1", SPECS, keep_raw=True)
    assert page.fields == {
        "title": "Great shoes",
        "category": "Shoes",
        "rating": 4,
        "n": 12.0,
        "tags": ["a", "b"],
        "section": "shop",
        "text": "Great shoes\nThese shoes are comfortable and light.\nI wear them every day.",
        "absent": None,
    }
    assert page.raw_html is not None
    assert len(page.content_hash) == 64
    assert page.minhash is not None


def test_main_text_falls_back_to_trafilatura() -> None:
    paragraphs = "".join(
        f"<p>Paragraph {i} of a long article about careful testing of crawlers.</p>"
        for i in range(12)
    )
    menu = "<div id='menu'><a href='/'>Home</a></div>"
    html = f"<html><body>{menu}<div>{paragraphs}</div></body></html>"
    spec = (FieldSpec("text", extract="main_text"),)
    text = extract_page(html.encode(), "utf-8", "http://h/a", spec, keep_raw=False).fields["text"]
    assert "Paragraph 0 of a long article" in text
    assert "Home" not in text


def test_landmark_needs_a_single_one() -> None:
    from parsel import Selector

    assert landmark_text(Selector(text="<main>a</main><main>b</main>")) is None
    assert landmark_text(Selector(text="<article>x</article>")) == "x"
    assert landmark_text(Selector(text="<div role='main'>y</div>")) == "y"


@pytest.mark.parametrize(
    ("value", "type_", "expected"),
    [
        ("4", "int", 4),
        ("4.0 stars", "int", 4),
        ("-3,25", "float", -3.25),
        ("none", "int", None),
        ("  many   spaces ", "str", "many spaces"),
        ("", "str", None),
        ("No", "bool", False),
        ("maybe", "bool", None),
        (None, "int", None),
    ],
)
def test_convert(value: str | None, type_: str, expected: object) -> None:
    assert convert(value, type_) == expected


def test_same_text_same_hash_across_markup() -> None:
    spec = (FieldSpec("text", extract="main_text"),)
    a = extract_page(b"<main><p>Hello   World</p></main>", "utf-8", "u", spec, keep_raw=False)
    b = extract_page(
        b"<main><p>hello world</p><!-- x --></main>", "utf-8", "u", spec, keep_raw=False
    )
    assert a.content_hash == b.content_hash


def test_encoding_is_respected() -> None:
    spec = (FieldSpec("title", css="h1::text"),)
    page = extract_page("<h1>中文</h1>".encode("gbk"), "gbk", "u", spec, keep_raw=False)
    assert page.fields == {"title": "中文"}
