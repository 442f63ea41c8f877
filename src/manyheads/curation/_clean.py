"""Text cleaning: HTML entities, Unicode NFKC, control characters and whitespace."""

from __future__ import annotations

import html
import re
import unicodedata

__all__ = ["clean_text"]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")


def clean_text(value: object) -> str | None:
    """Unescape entities, NFKC-normalise, drop control characters, collapse whitespace.

    Non-strings pass through ``str``; empty results become ``None``.

    Example:
        >>> clean_text("  Caf&eacute; &amp; ﬁne\\u00a0 dress\\n\\n ")
        'Café & fine dress'
        >>> clean_text("   ") is None
        True
    """
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = html.unescape(str(value))
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    text = " ".join(text.split())
    return text or None
