"""Duplicate detection: content hashes (exact) and MinHash LSH (near duplicates, datasketch).

Text is normalised (NFKC, case-folded, whitespace collapsed) before hashing, so pages that differ
only in markup or spacing are exact duplicates.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

import numpy as np

__all__ = ["NUM_PERM", "NearDuplicateIndex", "content_hash", "minhash_signature", "normalize_text"]

#: MinHash permutations: 128 keeps the Jaccard estimate's error near 0.02 at 0.95 similarity.
NUM_PERM = 128
_SHINGLE = 5
_SCHEME = "affine32"  # datasketch 2: uint32 values, collision-free permutations
_WORD = re.compile(r"\w+", re.UNICODE)


def normalize_text(text: str) -> str:
    """NFKC, case-fold and collapse whitespace.

    Example:
        >>> normalize_text("  Ｈｅｌｌｏ\\n  World ")
        'hello world'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def content_hash(text: str) -> str:
    """SHA-256 of the normalised text (hex)."""
    return hashlib.sha256(normalize_text(text).encode("utf-8")).hexdigest()


def minhash_signature(*texts: str) -> bytes | None:
    """MinHash of the word 5-shingles of each text (no shingle spans two texts), as bytes.

    Returns ``None`` when the texts have no words.

    Example:
        >>> a = minhash_signature("the quick brown fox jumps over the lazy dog " * 3, "a title")
        >>> len(a)
        512
    """
    from datasketch import MinHash

    shingles: set[bytes] = set()
    for text in texts:
        words = _WORD.findall(normalize_text(text))
        n = max(1, len(words) - _SHINGLE + 1) if words else 0
        shingles.update(" ".join(words[i : i + _SHINGLE]).encode("utf-8") for i in range(n))
    if not shingles:
        return None
    mh = MinHash(num_perm=NUM_PERM, scheme=_SCHEME)
    mh.update_batch(list(shingles))
    return bytes(np.asarray(mh.hashvalues, dtype=np.uint32).tobytes())


class NearDuplicateIndex:
    """An LSH index over MinHash signatures: ``add`` returns the earlier near-duplicate, if any.

    Args:
        threshold: the Jaccard similarity above which two texts are near duplicates.

    Example:
        >>> index = NearDuplicateIndex(0.8)
        >>> base = " ".join(f"word{i}" for i in range(200))
        >>> index.add("a", minhash_signature(base)) is None
        True
        >>> index.add("b", minhash_signature(base + " extra"))
        'a'
    """

    def __init__(self, threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        # LSH finds candidates below the threshold (few misses); the estimate then decides.
        self._lsh = MinHashLSH(threshold=max(0.5, threshold - 0.15), num_perm=NUM_PERM)
        self._signatures: dict[str, object] = {}

    def _minhash(self, signature: bytes) -> object:
        from datasketch import MinHash

        values = np.frombuffer(signature, dtype=np.uint32).copy()
        return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=_SCHEME)

    def add(self, key: str, signature: bytes | None) -> str | None:
        """Insert ``key`` and return the smallest other key that is a near duplicate, if any."""
        if signature is None:
            return None
        mh: Any = self._minhash(signature)
        if key in self._lsh:
            self._lsh.remove(key)
        candidates = sorted(k for k in self._lsh.query(mh) if k != key)
        self._lsh.insert(key, mh)
        self._signatures[key] = mh
        for other in candidates:
            if mh.jaccard(self._signatures[other]) >= self.threshold:
                return str(other)
        return None
