"""Read an item page's fields (css, xpath, main text, url_regex) and fingerprint its content.

Main text: ``extract: main_text`` takes the page's single main landmark (``<main>``,
``role="main"`` or ``<article>``) when there is one and falls back to trafilatura otherwise;
``extract: trafilatura`` always runs trafilatura.

This is the CPU-heavy part of a crawl (main-text extraction costs tens of milliseconds a page),
so it is a plain function of bytes that the spider runs in worker processes; see
:mod:`manyheads.crawl._extraction`.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from manyheads.crawl._dedupe import content_hash, minhash_signature
from manyheads.crawl._specs import FieldSpec

if TYPE_CHECKING:
    from parsel import Selector

__all__ = ["PageContent", "convert", "extract_page", "landmark_text"]

_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_LINES = re.compile(r"\s*\n\s*")
_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)?")
_TRUE = {"true", "yes", "1", "y", "on"}
_FALSE = {"false", "no", "0", "n", "off"}


#: A field's value: a converted string (see :func:`convert`), a list of them (``all``), or None.
Value = str | int | float | bool | None
FieldValue = Value | list[Value]


class _Node(Protocol):
    """An lxml element, as :func:`_walk` reads it (lxml ships no types)."""

    tag: object  # a str, or a function for comments and processing instructions
    text: str | None
    tail: str | None

    def __iter__(self) -> Iterator[_Node]: ...


@dataclass(frozen=True)
class PageContent:
    """What extraction returns for one page."""

    fields: dict[str, Any] | None
    content_hash: str
    minhash: bytes | None
    raw_html: bytes | None


def convert(value: str | None, type_: str) -> Value:
    """Convert an extracted string to the field's type; ``None`` when it does not parse.

    Example:
        >>> convert(" 4 stars", "int"), convert("3,5", "float"), convert("Yes", "bool")
        (4, 3.5, True)
        >>> convert("n/a", "int") is None
        True
    """
    if value is None:
        return None
    if type_ == "str":  # collapse spaces and blank lines; keep line breaks
        lines = (" ".join(line.split()) for line in value.splitlines())
        return "\n".join(line for line in lines if line) or None
    value = " ".join(value.split())
    if type_ == "bool":
        low = value.lower()
        return True if low in _TRUE else False if low in _FALSE else None
    match = _NUMBER.search(value)
    if match is None:
        return None
    number = float(match.group().replace(",", "."))
    return int(number) if type_ == "int" else number


_LANDMARKS = ("//main", '//*[@role="main"]', "//article")
_SKIP = frozenset({"script", "style", "noscript", "nav", "form", "template", "button", "select"})
_BLOCK_TAGS = (
    "address article aside blockquote br dd details div dl dt fieldset figcaption figure footer "
    "h1 h2 h3 h4 h5 h6 header hr li main ol p pre section summary table td th tr ul"
)
_BLOCKS = frozenset(_BLOCK_TAGS.split(" "))


def _walk(node: _Node, out: list[str]) -> None:
    """Append the text under ``node`` with a line break around block elements."""
    tag = node.tag if isinstance(node.tag, str) else None  # comments have a function as tag
    if tag in _SKIP:
        return
    block = tag in _BLOCKS
    if block:
        out.append("\n")
    if tag is not None and node.text:
        out.append(node.text)
    for child in node:
        _walk(child, out)
        if child.tail:
            out.append(child.tail)
    if block:
        out.append("\n")


def landmark_text(selector: Selector) -> str | None:
    """The text of the page's single main landmark (``<main>``, ``role=main``, ``<article>``).

    Example:
        >>> from parsel import Selector
        >>> landmark_text(Selector(text="<main><nav>x</nav><p>Hello</p><p>wor<b>ld</b></p></main>"))
        'Hello\\nworld'
    """
    for xpath in _LANDMARKS:
        nodes = selector.xpath(xpath)
        if len(nodes) == 1:
            parts: list[str] = []
            _walk(nodes[0].root, parts)
            text = "".join(parts)
            text = _SPACES.sub(" ", text)
            text = _LINES.sub("\n", text).strip()
            return text or None
        if len(nodes) > 1:
            return None
    return None


def _trafilatura(html: str, url: str) -> str | None:
    import trafilatura

    text = trafilatura.extract(
        html, url=url, fast=True, include_comments=False, deduplicate=False, with_metadata=False
    )
    return text or None


def _field(spec: FieldSpec, selector: Selector, html: str, url: str) -> FieldValue:
    values: Sequence[str | None]
    if spec.css is not None:
        values = selector.css(spec.css).getall()
    elif spec.xpath is not None:
        values = selector.xpath(spec.xpath).getall()
    elif spec.url_regex is not None:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        match = re.search(spec.url_regex, parts.path + (f"?{parts.query}" if parts.query else ""))
        values = [(match.group(1) if match.groups() else match.group()) if match else None]
    elif spec.extract == "main_text":
        values = [landmark_text(selector) or _trafilatura(html, url)]
    else:
        values = [_trafilatura(html, url)]
    converted = [convert(v, spec.type) for v in values]
    if spec.all:
        return [v for v in converted if v is not None]
    return next((v for v in converted if v is not None), None)


def _texts_of(fields: dict[str, Any]) -> list[str]:
    parts: list[str] = []
    for name in sorted(fields):
        value = fields[name]
        items = value if isinstance(value, list) else [value]
        parts.extend(str(v) for v in items if isinstance(v, str))
    return parts


def extract_page(
    body: bytes,
    encoding: str,
    url: str,
    specs: tuple[FieldSpec, ...],
    *,
    keep_raw: bool,
) -> PageContent:
    """Extract the fields of an item page and fingerprint them.

    Args:
        body: the response body.
        encoding: the encoding Scrapy detected for it.
        url: the page's canonical URL (for ``url_regex`` fields).
        specs: the fields to read.
        keep_raw: also return the body, zlib-compressed.

    Example:
        >>> from manyheads.crawl._specs import FieldSpec
        >>> page = extract_page(b"<h1> Hi </h1><b>5</b>", "utf-8", "http://h/r/7",
        ...     (FieldSpec("title", css="h1::text"), FieldSpec("n", css="b::text", type="int"),
        ...      FieldSpec("id", url_regex=r"/r/(\\d+)", type="int")), keep_raw=False)
        >>> page.fields
        {'title': 'Hi', 'n': 5, 'id': 7}
    """
    from parsel import Selector

    html = body.decode(encoding, errors="replace")
    selector = Selector(text=html, base_url=url)
    fields = {spec.name: _field(spec, selector, html, url) for spec in specs}
    texts = _texts_of(fields)
    if texts:
        digest = content_hash("\n".join(texts))
        signature = minhash_signature(*texts)
    else:
        digest = content_hash(json.dumps(fields, sort_keys=True, default=str))
        signature = None
    raw = zlib.compress(body, 6) if keep_raw else None
    return PageContent(fields=fields, content_hash=digest, minhash=signature, raw_html=raw)
