"""A small, dependency-free language identifier for filtering crawled text.

Latin-script languages are told apart by their most frequent function words; other scripts by
their Unicode blocks. Texts with too little evidence are ``"und"`` (undetermined). It is meant to
drop pages in the wrong language, not to label languages finely.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["detect_language"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and is it to of in a this that was for with on i my but not are have be so you "
        "they at as very it's wear would too"
    ),
    "de": _words(
        "der die das und ist nicht ein eine ich zu mit sich auf für den dem des es sie wir "
        "auch war sehr aber"
    ),
    "fr": _words(
        "le la les et est un une des du je ne pas pour que qui dans en sur avec ce il elle "
        "très mais au"
    ),
    "es": _words(
        "el la los las y es un una de que en no por con para se lo muy pero su al del como está"
    ),
    "it": _words(
        "il la le e è un una di che non per con del della sono ma molto anche questo gli nel alla"
    ),
    "pt": _words(
        "o a os as e é um uma de que não para com do da em muito mas se por mais foi ao na no"
    ),
    "nl": _words(
        "de het een en is van ik niet dat die op te zijn met voor maar ook heel was er naar"
    ),
}
_SCRIPTS = (
    ("HANGUL", "ko"),
    ("HIRAGANA", "ja"),
    ("KATAKANA", "ja"),
    ("CJK", "zh"),
    ("CYRILLIC", "ru"),
    ("ARABIC", "ar"),
    ("GREEK", "el"),
    ("HEBREW", "he"),
    ("THAI", "th"),
    ("DEVANAGARI", "hi"),
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def _script(text: str) -> str | None:
    counts: dict[str, int] = {}
    letters = 0
    for ch in text[:2000]:
        if not ch.isalpha():
            continue
        letters += 1
        name = unicodedata.name(ch, "")
        for block, lang in _SCRIPTS:
            if name.startswith(block):
                counts[lang] = counts.get(lang, 0) + 1
                break
    if not letters:
        return None
    if counts.get("ja", 0) > 0.05 * letters:
        return "ja"
    lang, n = max(counts.items(), key=lambda kv: kv[1], default=("", 0))
    return lang if n > 0.3 * letters else None


def detect_language(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, or ``"und"``.

    Example:
        >>> detect_language("I love this dress, it is so comfortable and the fit was perfect")
        'en'
        >>> detect_language("Das Kleid ist sehr schön und passt mir nicht")
        'de'
        >>> detect_language("这件衣服很好看"), detect_language("ok")
        ('zh', 'und')
    """
    script = _script(text)
    if script is not None:
        return script
    words = [w.casefold() for w in _WORD.findall(text[:5000])]
    if not words:
        return "und"
    scores = {lang: sum(w in stop for w in words) for lang, stop in _STOPWORDS.items()}
    lang, hits = max(scores.items(), key=lambda kv: kv[1])
    runner_up = sorted(scores.values())[-2]
    if hits < 2 or hits < 0.08 * len(words) or hits <= runner_up:
        return "und"
    return lang
