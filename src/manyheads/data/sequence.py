"""Ordered token ids for sequence encoders (CNN, BiLSTM, Transformer, pretrained models).

Two sources of a tokenizer, both from the ``tokenizers`` library:

* trained on the training split (``bpe``, the default, or ``wordpiece``): BERT-style normalisation
  (NFKC-like cleanup, lower case, CJK characters split one per token, so Chinese text is tokenised
  by characters), punctuation-aware pre-tokenisation, ``[CLS] ... [SEP]`` around every row;
* ``pretrained``: the model's own ``tokenizer.json`` from a local model directory.

A row is either a string (``text`` inputs) or a list of words (``tokens`` inputs, e.g. CoNLL). For
word lists the encoding also records, per word, the position of its first sub-word piece
(``first``) and which word slots are real (``wmask``), so that per-word labels stay aligned to
words however the tokenizer splits them. Words cut off by ``max_length`` keep a real slot (their
label still counts) and point at position 0 (the ``[CLS]`` piece).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

from manyheads.errors import InvalidParameterError

__all__ = [
    "DEFAULT_MAX_LENGTH",
    "TOKENIZERS",
    "EncodedSequences",
    "SequenceTokenizer",
    "fitted_max_length",
    "split_words",
]

TOKENIZERS = ("bpe", "wordpiece", "pretrained")
SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")  # ids 0..3 of a trained vocabulary
#: The pieces per row of encoders with a position limit (transformer, pretrained), and the
#: least a fitted length (:func:`fitted_max_length`) gives.
DEFAULT_MAX_LENGTH = 128


def fitted_max_length(lengths: Sequence[int], *, words: bool) -> int:
    """The default ``max_length`` of an encoder without a position limit (``bilstm``, ``cnn``).

    Word lists (``tokens`` inputs, one label per word): the longest training row, so that no
    training word loses its pieces. Texts: the 99.9th percentile of the training rows'
    lengths, so that one outlier does not set the width of every batch. Never below
    :data:`DEFAULT_MAX_LENGTH`.

    Example:
        >>> fitted_max_length([12, 300, 40], words=True), fitted_max_length([12, 40], words=False)
        (300, 128)
        >>> fitted_max_length([200] * 999 + [5000], words=False)
        200
    """
    if not lengths:
        return DEFAULT_MAX_LENGTH
    top = max(lengths) if words else int(np.ceil(np.percentile(lengths, 99.9, method="lower")))
    return max(DEFAULT_MAX_LENGTH, int(top))


_SPLITTER = pre_tokenizers.BertPreTokenizer()


def split_words(text: str) -> list[str]:
    """Split a string into words the way the trained tokenizers do (whitespace, punctuation).

    Example:
        >>> split_words("Great dress, runs small!")
        ['Great', 'dress', ',', 'runs', 'small', '!']
    """
    return [w for w, _ in _SPLITTER.pre_tokenize_str(text)]


@dataclass
class EncodedSequences:
    """Padded id matrices of one column.

    Attributes:
        ids: ``[N, S]`` int64 token ids, padded with the tokenizer's pad id.
        attn: ``[N, S]`` bool, True on real tokens.
        first: ``[N, W]`` int64 position of each word's first piece (word lists only).
        wmask: ``[N, W]`` bool, True on real word slots (word lists only).
        cut: ``[N]`` int64 words per row with no piece left after truncation to
            ``max_length`` (word lists only); their ``first`` points at position 0.
    """

    ids: np.ndarray
    attn: np.ndarray
    first: np.ndarray | None = None
    wmask: np.ndarray | None = None
    cut: np.ndarray | None = None


class SequenceTokenizer:
    """Turn texts or word lists into padded token-id matrices.

    Args:
        tokenizer: ``bpe`` or ``wordpiece`` (trained on train), or ``pretrained``. ``bpe``
            is the default because it is deterministic: the WordPiece trainer of
            ``tokenizers`` 0.23.3 numbers its ``##`` pieces in hash-map order, so two trainings
            on the same rows can give different vocabularies and even different merges
            (huggingface/tokenizers#1794), and then the same seed does not give the same model.
        vocab_size: vocabulary size of a trained tokenizer (specials included).
        min_count: a piece must occur this often in train to be learnt.
        max_length: pieces kept per row, ``[CLS]`` and ``[SEP]`` included. None (what
            encoders without a position limit, ``bilstm`` and ``cnn``, get by default): fitted
            on the training rows, see :func:`fitted_max_length`.
        lowercase: lower-case before tokenising (trained tokenizers).
        path: the model directory holding ``tokenizer.json`` (``pretrained``).

    Example:
        >>> tok = SequenceTokenizer(vocab_size=60, min_count=1).fit(["a red dress", "a blue hat"])
        >>> enc = tok.encode([["a", "red", "hat"]], words=True)
        >>> enc.ids.shape[0], enc.first.tolist(), enc.wmask.tolist()
        (1, [[1, 2, 3]], [[True, True, True]])
    """

    def __init__(
        self,
        *,
        tokenizer: str = "bpe",
        vocab_size: int = 8000,
        min_count: int = 2,
        max_length: int | None = 128,
        lowercase: bool = True,
        path: str | None = None,
    ) -> None:
        if tokenizer not in TOKENIZERS:
            raise InvalidParameterError(
                f"The 'tokenizer' option must be one of {', '.join(TOKENIZERS)}. Got {tokenizer!r}."
            )
        if max_length is not None and (
            not isinstance(max_length, int) or isinstance(max_length, bool) or max_length < 3
        ):
            raise InvalidParameterError(
                f"The 'max_length' option must be an int >= 3. Got {max_length!r}."
            )
        if tokenizer == "pretrained" and not path:
            raise InvalidParameterError("A 'pretrained' tokenizer needs the model 'path'.")
        self.tokenizer = tokenizer
        self.vocab_size = vocab_size
        self.min_count = min_count
        self.max_length: int = 0 if max_length is None else max_length  # 0: fit() sets it
        self.fitted_length = max_length is None
        self.lowercase = lowercase
        self.path = path
        self.tokenizer_: Tokenizer | None = None
        self.pad_id_ = 0

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, rows: Sequence[str | Sequence[str]], *, words: bool = False) -> SequenceTokenizer:
        """Train the vocabulary on the training rows (or load the pretrained tokenizer); a
        ``max_length`` of None is then fitted to the rows (``words``: they are word lists)."""
        if self.tokenizer == "pretrained":
            self.tokenizer_ = _pretrained(str(self.path))
        else:
            self.tokenizer_ = self._train(rows)
        self.tokenizer_.no_padding()
        if self.fitted_length:
            self.tokenizer_.no_truncation()
            lengths = [len(e.ids) for e in self._encodings(rows, words=words)]
            self.max_length = fitted_max_length(lengths, words=words)
        self.tokenizer_.enable_truncation(self.max_length)
        self.pad_id_ = _pad_id(self.tokenizer_)
        return self

    def _train(self, rows: Sequence[str | Sequence[str]]) -> Tokenizer:
        if self.tokenizer == "bpe":
            tok = Tokenizer(models.BPE(unk_token="[UNK]"))
            trainer: Any = trainers.BpeTrainer(
                vocab_size=self.vocab_size,
                min_frequency=self.min_count,
                special_tokens=list(SPECIALS),
                show_progress=False,
            )
        else:
            tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
            trainer = trainers.WordPieceTrainer(
                vocab_size=self.vocab_size,
                min_frequency=self.min_count,
                special_tokens=list(SPECIALS),
                show_progress=False,
            )
        tok.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=self.lowercase
        )
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        texts = [r if isinstance(r, str) else " ".join(r) for r in rows]
        tok.train_from_iterator(texts, trainer=trainer)
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            special_tokens=[
                ("[CLS]", tok.token_to_id("[CLS]")),
                ("[SEP]", tok.token_to_id("[SEP]")),
            ],
        )
        return tok

    # -- encoding ------------------------------------------------------------------------------
    @property
    def n_ids(self) -> int:
        """Size of the id space (the embedding table)."""
        assert self.tokenizer_ is not None, "fit() first"
        return int(self.tokenizer_.get_vocab_size(with_added_tokens=True))

    def encode(
        self, rows: Sequence[str | Sequence[str]], *, words: bool = False
    ) -> EncodedSequences:
        """Encode rows; with ``words`` every row is a list of words and word slots are kept.

        A string row given with ``words`` is split by :func:`split_words` first.
        """
        assert self.tokenizer_ is not None, "fit() first"
        encodings = self._encodings(rows, words=words)
        width = max([1, *(len(e.ids) for e in encodings)])
        ids = np.full((len(encodings), width), self.pad_id_, dtype=np.int64)
        attn = np.zeros((len(encodings), width), dtype=bool)
        for i, e in enumerate(encodings):
            ids[i, : len(e.ids)] = e.ids
            attn[i, : len(e.ids)] = True
        if not words:
            return EncodedSequences(ids, attn)
        n_words = [len(split_words(r)) if isinstance(r, str) else len(r) for r in rows]
        w_width = max([1, *n_words])
        first = np.zeros((len(encodings), w_width), dtype=np.int64)
        wmask = np.zeros((len(encodings), w_width), dtype=bool)
        cut = np.zeros(len(encodings), dtype=np.int64)
        for i, e in enumerate(encodings):
            wmask[i, : n_words[i]] = True
            seen: set[int] = set()
            for pos, word in enumerate(e.word_ids):
                if word is not None and word not in seen:
                    seen.add(word)
                    first[i, word] = pos
            # a word with no piece at all (e.g. only control characters) is not cut: it
            # never had one; a cut word comes after the last word that kept a piece
            cut[i] = n_words[i] - 1 - max(seen) if seen and len(e.overflowing) else 0
        return EncodedSequences(ids, attn, first, wmask, cut)

    def _encodings(self, rows: Sequence[str | Sequence[str]], *, words: bool) -> list[Any]:
        """The tokenizer's encodings of ``rows`` (word lists pretokenized with ``words``)."""
        assert self.tokenizer_ is not None, "fit() first"
        if not words:
            texts = [r if isinstance(r, str) else " ".join(r) for r in rows]
            return list(self.tokenizer_.encode_batch(texts))
        lists = [split_words(r) if isinstance(r, str) else [str(w) for w in r] for r in rows]
        return list(self.tokenizer_.encode_batch(lists, is_pretokenized=True))

    # -- metadata ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state; the tokenizer itself is stored as its JSON string."""
        assert self.tokenizer_ is not None
        return {
            "tokenizer": self.tokenizer,
            "vocab_size": self.vocab_size,
            "min_count": self.min_count,
            "max_length": self.max_length,
            "lowercase": self.lowercase,
            "path": self.path,
            "state": self.tokenizer_.to_str(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SequenceTokenizer:
        """Inverse of :meth:`to_dict` (needs no file: the tokenizer travels in the JSON)."""
        tok = cls(**{k: v for k, v in data.items() if k != "state"})
        tok.tokenizer_ = Tokenizer.from_str(data["state"])
        tok.tokenizer_.no_padding()
        tok.tokenizer_.enable_truncation(tok.max_length)
        tok.pad_id_ = _pad_id(tok.tokenizer_)
        return tok


def _pretrained(path: str) -> Tokenizer:
    file = Path(path) / "tokenizer.json"
    if not file.exists():
        raise InvalidParameterError(
            f"No tokenizer.json in the pretrained model directory '{path}'. Point "
            "model.encoder_options.path at a directory saved by transformers "
            "(save_pretrained) that holds config.json, the weights and tokenizer.json."
        )
    return Tokenizer.from_file(str(file))


def _pad_id(tok: Tokenizer) -> int:
    for name in ("[PAD]", "<pad>", "<PAD>"):
        found = tok.token_to_id(name)
        if found is not None:
            return int(found)
    return 0
