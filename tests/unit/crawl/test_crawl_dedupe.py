"""Exact and near-duplicate detection."""

from __future__ import annotations

from manyheads.crawl._dedupe import (
    NearDuplicateIndex,
    content_hash,
    minhash_signature,
    normalize_text,
)

BASE = " ".join(f"token{i}" for i in range(150))


def test_normalize_and_hash() -> None:
    assert normalize_text("ＡＢＣ\u00a0 def\n") == "abc def"
    assert content_hash("A  b") == content_hash("a b") != content_hash("a c")


def test_signature_empty_text() -> None:
    assert minhash_signature("", "  ") is None


def test_near_duplicates_found_and_distinct_texts_not() -> None:
    index = NearDuplicateIndex(0.9)
    assert index.add("a", minhash_signature(BASE)) is None
    assert index.add("b", minhash_signature(BASE + " extra")) == "a"
    other = " ".join(f"word{i}" for i in range(150))
    assert index.add("c", minhash_signature(other)) is None
    half = " ".join(BASE.split()[:75] + other.split()[:75])
    assert index.add("d", minhash_signature(half)) is None


def test_readding_a_key_replaces_it() -> None:
    index = NearDuplicateIndex(0.9)
    index.add("a", minhash_signature(BASE))
    assert index.add("a", minhash_signature(BASE)) is None
    assert index.add("b", minhash_signature(BASE)) == "a"


def test_shingles_do_not_span_fields() -> None:
    one = minhash_signature(BASE, "title words here")
    two = minhash_signature(BASE + " more", "title words here")
    index = NearDuplicateIndex(0.95)
    index.add("x", one)
    assert index.add("y", two) == "x"
