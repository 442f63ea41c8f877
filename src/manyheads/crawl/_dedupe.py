"""Duplicate detection: content hashes (exact) and MinHash LSH (near duplicates, datasketch).

Text is normalised (NFKC, case-folded, whitespace collapsed) before hashing, so pages that differ
only in markup or spacing are exact duplicates.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np

__all__ = ["NUM_PERM", "NearDuplicateIndex", "content_hash", "minhash_signature", "normalize_text"]

#: MinHash permutations: 64 keeps the Jaccard estimate within ~0.06 and the signature at 256 bytes.
NUM_PERM = 64
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


def minhash_signature(text: str) -> bytes | None:
    """MinHash of the text's word 5-shingles, as bytes (``None`` for text with no words).

    Example:
        >>> a = minhash_signature("the quick brown fox jumps over the lazy dog " * 3)
        >>> len(a)
        256
    """
    from datasketch import MinHash

    words = _WORD.findall(normalize_text(text))
    if not words:
        return None
    n = max(1, len(words) - _SHINGLE + 1)
    shingles = {" ".join(words[i : i + _SHINGLE]).encode("utf-8") for i in range(n)}
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
        self._lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)

    def _minhash(self, signature: bytes) -> object:
        from datasketch import MinHash

        values = np.frombuffer(signature, dtype=np.uint32).copy()
        return MinHash(num_perm=NUM_PERM, hashvalues=values, scheme=_SCHEME)

    def add(self, key: str, signature: bytes | None) -> str | None:
        """Insert ``key`` and return the smallest other key that is a near duplicate, if any."""
        if signature is None:
            return None
        mh = self._minhash(signature)
        if key in self._lsh:
            self._lsh.remove(key)
        matches = sorted(k for k in self._lsh.query(mh) if k != key)
        self._lsh.insert(key, mh)
        return matches[0] if matches else None
