"""Fast bag-of-n-grams text encoding (fastText style): word ids plus hashed bigram ids.

Words come from a ``tokenizers`` WordLevel model trained on the training split (NFKC, lower case,
punctuation split). Bigrams are hashed into ``n_buckets`` extra ids, as fastText does, so the
vocabulary stays bounded. Id 0 is padding, id 1 the unknown word.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

__all__ = ["TextVocab"]

PAD, UNK = "[PAD]", "[UNK]"


class TextVocab:
    """A trained word tokenizer plus bigram hashing; turns texts into padded id matrices.

    Args:
        max_words: vocabulary size cap (including the two special ids).
        min_count: a word must appear this often in train to get its own id.
        n_buckets: number of hashed bigram ids (0 disables bigrams).
        max_tokens: ids kept per text (words first, then bigrams).

    Example:
        >>> vocab = TextVocab(min_count=1).fit(["good dress", "bad dress"])
        >>> vocab.encode(["good dress"]).shape
        (1, 3)
    """

    def __init__(
        self,
        *,
        max_words: int = 30000,
        min_count: int = 2,
        n_buckets: int = 50000,
        max_tokens: int = 128,
    ) -> None:
        self.max_words = max_words
        self.min_count = min_count
        self.n_buckets = n_buckets
        self.max_tokens = max_tokens
        self.tokenizer_: Tokenizer | None = None

    @staticmethod
    def _new_tokenizer() -> Tokenizer:
        tok = Tokenizer(models.WordLevel(unk_token=UNK))
        tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return tok

    def fit(self, texts: Iterable[str]) -> TextVocab:
        """Learn the word vocabulary from the training texts."""
        tok = self._new_tokenizer()
        trainer = trainers.WordLevelTrainer(
            vocab_size=self.max_words,
            min_frequency=self.min_count,
            special_tokens=[PAD, UNK],
            show_progress=False,
        )
        tok.train_from_iterator(list(texts), trainer=trainer)
        self.tokenizer_ = tok
        return self

    @property
    def n_words(self) -> int:
        """Number of word ids, specials included."""
        assert self.tokenizer_ is not None
        return int(self.tokenizer_.get_vocab_size())

    @property
    def n_ids(self) -> int:
        """Size of the embedding table: words plus bigram buckets."""
        return self.n_words + self.n_buckets

    def encode(self, texts: list[str]) -> np.ndarray:
        """Texts -> int64 ids [N, L], 0-padded: the first ``max_tokens`` word ids, then (with
        ``n_buckets``) one hashed id per pair of adjacent words over the whole text, so L can
        exceed ``max_tokens``."""
        assert self.tokenizer_ is not None, "fit() first"
        encodings = self.tokenizer_.encode_batch(texts, add_special_tokens=False)
        rows = [self._ids(e.ids) for e in encodings]
        width = max(1, max((len(r) for r in rows), default=1))
        out = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        return out

    def _ids(self, words: list[int]) -> list[int]:
        ids = list(words[: self.max_tokens])
        if self.n_buckets and len(words) > 1:
            for a, b in itertools.pairwise(words):
                h = zlib.crc32(f"{a} {b}".encode()) % self.n_buckets
                ids.append(self.n_words + h)
        return ids

    def to_dict(self) -> dict[str, object]:
        """JSON-ready state (the tokenizer is stored as its own JSON string)."""
        assert self.tokenizer_ is not None
        return {
            "max_words": self.max_words,
            "min_count": self.min_count,
            "n_buckets": self.n_buckets,
            "max_tokens": self.max_tokens,
            "tokenizer": self.tokenizer_.to_str(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> TextVocab:
        """Inverse of :meth:`to_dict`."""
        vocab = cls(
            max_words=int(data["max_words"]),  # type: ignore[call-overload]
            min_count=int(data["min_count"]),  # type: ignore[call-overload]
            n_buckets=int(data["n_buckets"]),  # type: ignore[call-overload]
            max_tokens=int(data["max_tokens"]),  # type: ignore[call-overload]
        )
        vocab.tokenizer_ = Tokenizer.from_str(str(data["tokenizer"]))
        return vocab
