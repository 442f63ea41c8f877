"""Learn the input encoding on the training split and apply it to any split.

* numeric: standardised with train mean/std; missing cells imputed with the train mean plus a
  0/1 missing indicator (for columns that had missing values in train).
* categorical: a vocabulary from train; index 0 is reserved for unseen or missing values. All
  categorical columns share one embedding table through per-column offsets.
* text: :class:`~manyheads.data.text.TextVocab` (word + hashed bigram ids, 0-padded) for the
  tabular encoder; ordered token ids (:class:`~manyheads.data.sequence.SequenceTokenizer`) when
  the encoder reads sequences (``text_options["mode"] == "sequence"``): ``x["ids:<col>"]`` and
  ``x["attn:<col>"]``.
* tokens: a list of words per row (JSONL lists, CoNLL word columns; a string is split into
  words). As text, plus ``x["first:<col>"]`` and ``x["wmask:<col>"]`` ``[N, W]`` that align
  sub-word pieces to words, for one-label-per-word (``tagging``) tasks.
* image: cells are numpy arrays (``H x W`` or ``C x H x W``, any numeric dtype), all of one shape;
  standardised per channel with the train mean/std into ``x["image:<col>"]`` ``[N, C, H, W]``
  float32. The statistics live in ``model.json`` like every other state (nothing is pickled).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from manyheads.data.images import is_image_path, read_image_files
from manyheads.data.sequence import SequenceTokenizer
from manyheads.data.tensors import EncodedTable
from manyheads.data.text import TextVocab
from manyheads.errors import DataError, DataWarning, InvalidParameterError, NotFittedError
from manyheads.tasks._base import UNSEEN_LABELS, first_line, label_strings, missing_mask
from manyheads.tasks._registry import get_kind
from manyheads.tasks.task import Task

__all__ = ["INPUT_KINDS", "InputSpec", "SequenceSpec", "TablePreprocessor", "infer_kind"]

INPUT_KINDS = ("numeric", "categorical", "text", "image", "tokens")


@dataclass(frozen=True)
class SequenceSpec:
    """What a sequence encoder needs to know about one ``text``/``tokens`` column.

    ``words`` is True for ``tokens`` columns (per-word features are expected). ``path`` is the
    pretrained model directory whose tokenizer produced the ids (None for trained ones).
    """

    n_ids: int
    pad_id: int
    words: bool
    max_length: int
    tokenizer: str
    path: str | None = None


@dataclass(frozen=True)
class InputSpec:
    """Sizes the input layer needs: numeric width, categorical cardinalities, text vocab sizes.

    ``image_shapes`` holds ``(column, (C, H, W))`` for each image column (empty for tables);
    ``sequences`` holds ``(column, SequenceSpec)`` for text/tokens columns encoded as ordered
    token ids (empty unless a sequence encoder asked for them).
    """

    n_numeric: int
    cardinalities: tuple[int, ...]
    text_sizes: tuple[tuple[str, int], ...]
    image_shapes: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    sequences: tuple[tuple[str, SequenceSpec], ...] = ()


def infer_kind(series: pd.Series) -> str:
    """Guess ``numeric``, ``categorical``, ``text`` or ``image`` for a column.

    A column whose cells are 2-D or 3-D numpy arrays, or lists of lists (JSONL), is ``image``;
    one whose cells are lists of strings is ``tokens``.

    Example:
        >>> infer_kind(pd.Series([1.5, 2.0, 3.25]))
        'numeric'
        >>> infer_kind(pd.Series(["red", "blue", "red"]))
        'categorical'
        >>> infer_kind(pd.Series([np.zeros((28, 28)), np.ones((28, 28))]))
        'image'
        >>> infer_kind(pd.Series([["EU", "rejects"], ["Peter"]]))
        'tokens'
    """
    if len(series) and is_image_path(series.iloc[0]):
        return "image"
    if series.dtype == object and len(series) and _is_image_cell(series.iloc[0]):
        return "image"
    if series.dtype == object and len(series) and _is_token_cell(series.iloc[0]):
        return "tokens"
    values = series[~missing_mask(series)]
    if pd.api.types.is_bool_dtype(values.dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values.dtype):
        return "numeric"
    text = values.astype(str)
    if text.empty:
        return "categorical"
    mean_words = float(text.str.split().str.len().mean())
    unique_share = text.nunique() / len(text)
    if mean_words >= 3.0 or (unique_share > 0.5 and len(text) > 50):
        return "text"
    return "categorical"


class TablePreprocessor:
    """Fits input encodings and task label states on train; encodes frames to tensors.

    Args:
        inputs: column -> kind (``numeric``, ``categorical``, ``text``, ``image``, ``tokens``).
        tasks: the tasks whose labels are encoded.
        text_options: ``{"mode": "bag", ...}`` (default) passes the other keys to
            :class:`TextVocab`; ``{"mode": "sequence", ...}`` passes them to
            :class:`SequenceTokenizer` (what sequence encoders ask for).
        unseen_labels: ``warn`` (a DataWarning; such rows or tokens count as wrong) or
            ``error`` for a class or tag that the training labels never had
            (``data.unseen_labels``).

    Example:
        >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
        >>> pre = TablePreprocessor({"x": "numeric"}, [Task("y", type="binary")]).fit(frame)
        >>> pre.transform(frame).x["num"].shape
        torch.Size([3, 1])
    """

    def __init__(
        self,
        inputs: dict[str, str],
        tasks: list[Task],
        *,
        text_options: dict[str, Any] | None = None,
        unseen_labels: str = "warn",
    ) -> None:
        if unseen_labels not in UNSEEN_LABELS:
            raise InvalidParameterError(
                f"The 'unseen_labels' setting must be one of {', '.join(UNSEEN_LABELS)}. "
                f"Got {unseen_labels!r}."
            )
        self.unseen_labels = unseen_labels
        self.inputs = dict(inputs)
        self.tasks = list(tasks)
        self.text_options = dict(text_options or {})
        self.numeric_: dict[str, dict[str, float | bool]] | None = None
        self.categorical_: dict[str, list[str]] = {}
        self.text_: dict[str, TextVocab] = {}
        self.sequence_: dict[str, SequenceTokenizer] = {}
        self.image_: dict[str, dict[str, list[float] | list[int]]] = {}
        self.task_states_: dict[str, dict[str, Any]] = {}

    # -- fitting -------------------------------------------------------------------------------
    def check_inputs(self, frame: pd.DataFrame) -> None:
        """Raise the DataError :meth:`fit` would raise for a bad input cell of ``frame``.

        A multi-source run checks each source on its own first, so that the message names the
        source's file and line rather than the stacked frame.
        """
        path = str(frame.attrs.get("path", "<train>"))
        self._check_columns(frame, path)
        for col, kind in self.inputs.items():
            if kind == "numeric":
                _numeric(frame, col, path)
            elif kind == "image":
                _images(frame, col, path, None)
            elif kind in ("text", "tokens"):
                _rows(frame, col, path, words=kind == "tokens")

    def fit(
        self, frame: pd.DataFrame, *, task_frames: dict[str, pd.DataFrame] | None = None
    ) -> TablePreprocessor:
        """Learn statistics, vocabularies and label states from the training frame.

        Args:
            frame: the training rows.
            task_frames: task name -> the rows its label state is learnt from (a multi-source
                run passes each task its own source, so label errors name that file).
        """
        path = str(frame.attrs.get("path", "<train>"))
        self._check_columns(frame, path)
        self.numeric_ = {}
        for col, kind in self.inputs.items():
            if kind == "numeric":
                values, missing = _numeric(frame, col, path)
                observed = values[~missing]
                with np.errstate(over="ignore", invalid="ignore"):  # overflow: checked below
                    mean = float(observed.mean()) if observed.size else 0.0
                    std = float(observed.std()) if observed.size else 1.0
                _check_statistics(frame, col, path, values, missing, mean, std)
                self.numeric_[col] = {
                    "mean": mean,
                    "std": std if std > 0 else 1.0,
                    "indicator": bool(missing.any()),
                }
            elif kind == "categorical":
                miss = missing_mask(frame[col])
                values = label_strings(frame[col][~miss])
                self.categorical_[col] = sorted(values.unique().tolist())
            elif kind == "image":
                self.image_[col] = _image_stats(_images(frame, col, path, None))
            elif self._sequence_mode:
                options = {k: v for k, v in self.text_options.items() if k != "mode"}
                rows = _rows(frame, col, path, words=kind == "tokens")
                tok = SequenceTokenizer(**options).fit(rows, words=kind == "tokens")
                self.sequence_[col] = tok
            else:
                vocab = TextVocab(**{k: v for k, v in self.text_options.items() if k != "mode"})
                rows = _rows(frame, col, path, words=kind == "tokens")
                self.text_[col] = vocab.fit(
                    [r if isinstance(r, str) else " ".join(r) for r in rows]
                )
        for task in self.tasks:
            rows = (task_frames or {}).get(task.name, frame)
            where = str(rows.attrs.get("path", path))
            self.task_states_[task.name] = get_kind(task.type).fit(task, rows, where)
        return self

    @property
    def _sequence_mode(self) -> bool:
        return self.text_options.get("mode") == "sequence"

    def _check_columns(self, frame: pd.DataFrame, path: str) -> None:
        for col in self.inputs:
            if col not in frame.columns:
                raise DataError(
                    f"the input column '{col}' is missing. Columns present: "
                    f"{', '.join(map(str, frame.columns[:30]))}.",
                    path=path,
                )

    # -- encoding ------------------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame, *, labels: bool = True) -> EncodedTable:
        """Encode ``frame``: inputs always, task labels when ``labels`` is True."""
        if self.numeric_ is None:
            raise NotFittedError("TablePreprocessor.transform called before fit().")
        path = str(frame.attrs.get("path", "<data>"))
        self._check_columns(frame, path)
        x: dict[str, torch.Tensor] = {}
        num = self._encode_numeric(frame, path)
        if num is not None:
            x["num"] = num
        if self.categorical_:
            x["cat"] = self._encode_categorical(frame)
        for col, vocab in self.text_.items():
            rows = _rows(frame, col, path, words=self.inputs[col] == "tokens")
            texts = [r if isinstance(r, str) else " ".join(r) for r in rows]
            x[f"text:{col}"] = torch.from_numpy(vocab.encode(texts))
        for col, tok in self.sequence_.items():
            words = self.inputs[col] == "tokens"
            enc = tok.encode(_rows(frame, col, path, words=words), words=words)
            x[f"ids:{col}"] = torch.from_numpy(enc.ids)
            x[f"attn:{col}"] = torch.from_numpy(enc.attn)
            if enc.first is not None and enc.wmask is not None:
                x[f"first:{col}"] = torch.from_numpy(enc.first)
                x[f"wmask:{col}"] = torch.from_numpy(enc.wmask)
            if enc.cut is not None and enc.cut.any():
                _warn_cut(path, col, enc.cut, tok.max_length)
        for col, st in self.image_.items():
            x[f"image:{col}"] = _standardise(_images(frame, col, path, st["shape"]), st)
        y: dict[str, torch.Tensor] = {}
        mask: dict[str, torch.Tensor] = {}
        if labels:
            for task in self.tasks:
                state = self.task_states_[task.name]
                y[task.name], mask[task.name] = get_kind(task.type).encode(
                    task, state, frame, path, unseen=self.unseen_labels
                )
                if get_kind(task.type).level == "token":
                    self._check_aligned(task, frame, path, x, mask[task.name])
        return EncodedTable(x=x, y=y, mask=mask, n_rows=len(frame))

    def _check_aligned(
        self,
        task: Task,
        frame: pd.DataFrame,
        path: str,
        x: dict[str, torch.Tensor],
        mask: torch.Tensor,
    ) -> None:
        """A per-token task needs exactly one word per label, row by row."""
        token_cols = [c for c, k in self.inputs.items() if k == "tokens"]
        if len(token_cols) != 1 or f"wmask:{token_cols[0]}" not in x:
            raise DataError(
                f"task '{task.name}' has one label per token: it needs exactly one 'tokens' "
                f"input read by a sequence encoder (inputs: {self.inputs}).",
                path=path,
            )
        col = token_cols[0]
        n_words = x[f"wmask:{col}"].sum(dim=1)
        n_tags = mask.sum(dim=1) if mask.dim() == 2 else mask.long()
        bad = (mask.reshape(len(mask), -1).any(dim=1) & (n_tags != n_words)).numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{int(n_words[i])} tokens in '{col}' but {int(n_tags[i])} tags in "
                f"'{task.label_columns[0]}' (task '{task.name}'): every token needs exactly one "
                "tag. Fix the row or drop it.",
                path=path,
                line=first_line(frame, bad),
                column=task.label_columns[0],
            )

    def _encode_numeric(self, frame: pd.DataFrame, path: str) -> torch.Tensor | None:
        assert self.numeric_ is not None
        blocks: list[np.ndarray] = []
        for col, st in self.numeric_.items():
            values, missing = _numeric(frame, col, path)
            z = (np.where(missing, st["mean"], values) - st["mean"]) / st["std"]
            _check_float32(frame, col, path, z)
            blocks.append(z)
            if st["indicator"]:
                blocks.append(missing.astype(np.float64))
        if not blocks:
            return None
        return torch.from_numpy(np.stack(blocks, axis=1).astype(np.float32))

    def _encode_categorical(self, frame: pd.DataFrame) -> torch.Tensor:
        cols = []
        for col, vocab in self.categorical_.items():
            lookup = {v: i + 1 for i, v in enumerate(vocab)}  # 0: unseen or missing
            miss = missing_mask(frame[col])
            idx = label_strings(frame[col]).map(lookup).fillna(0).to_numpy(dtype=np.int64)
            cols.append(np.where(miss, 0, idx))
        return torch.from_numpy(np.stack(cols, axis=1))

    # -- metadata ------------------------------------------------------------------------------
    @property
    def spec(self) -> InputSpec:
        """The sizes the model's input layer needs."""
        if self.numeric_ is None:
            raise NotFittedError("TablePreprocessor.spec needs fit() first.")
        n_num = sum(2 if st["indicator"] else 1 for st in self.numeric_.values())
        cards = tuple(len(v) + 1 for v in self.categorical_.values())
        texts = tuple((col, vocab.n_ids) for col, vocab in self.text_.items())
        images = tuple((col, _shape3(st["shape"])) for col, st in self.image_.items())
        sequences = tuple(
            (
                col,
                SequenceSpec(
                    n_ids=tok.n_ids,
                    pad_id=tok.pad_id_,
                    words=self.inputs[col] == "tokens",
                    max_length=tok.max_length,
                    tokenizer=tok.tokenizer,
                    path=tok.path,
                ),
            )
            for col, tok in self.sequence_.items()
        )
        return InputSpec(
            n_numeric=n_num,
            cardinalities=cards,
            text_sizes=texts,
            image_shapes=images,
            sequences=sequences,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready state: everything prediction needs to encode raw rows."""
        return {
            "inputs": self.inputs,
            "numeric": self.numeric_,
            "categorical": self.categorical_,
            "text": {col: v.to_dict() for col, v in self.text_.items()},
            "image": self.image_,
            "sequence": {col: t.to_dict() for col, t in self.sequence_.items()},
            "task_states": self.task_states_,
            "text_options": self.text_options,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], tasks: list[Task]) -> TablePreprocessor:
        """Inverse of :meth:`to_dict`."""
        pre = cls(data["inputs"], tasks, text_options=data.get("text_options"))
        pre.numeric_ = data["numeric"]
        pre.categorical_ = data["categorical"]
        pre.text_ = {col: TextVocab.from_dict(d) for col, d in data["text"].items()}
        pre.image_ = dict(data.get("image", {}))  # absent in models saved before images
        pre.sequence_ = {
            col: SequenceTokenizer.from_dict(d) for col, d in data.get("sequence", {}).items()
        }
        pre.task_states_ = data["task_states"]
        return pre


def _numeric(frame: pd.DataFrame, col: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """(values with 0 where missing, missing mask). Empty and NaN cells are missing; ±inf
    is a DataError naming the cell (docs/reliability.md, "Non-finite numbers")."""
    series = frame[col]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        _refuse_inf(frame, col, path, values, "numeric input")
        return np.nan_to_num(values, nan=0.0), np.isnan(values)
    raw = series.astype("string").str.strip()
    empty = (raw.isna() | raw.eq("") | raw.str.lower().eq("nan")).to_numpy(dtype=bool)
    parsed = pd.to_numeric(raw.where(~pd.Series(empty, index=raw.index)), errors="coerce")
    values = parsed.to_numpy(dtype=float, na_value=np.nan)
    _refuse_inf(frame, col, path, values, "numeric input")
    bad = ~np.isfinite(values) & ~empty
    if bad.any():
        cell = series.to_numpy()[np.flatnonzero(bad)[0]]
        raise DataError(
            f"numeric input expected, got {cell!r}. Fix the cell, leave it empty for a missing "
            f"value, or declare the column as categorical or text in 'inputs'.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )
    missing = ~np.isfinite(values)
    return np.nan_to_num(values, nan=0.0), missing


def _refuse_inf(frame: pd.DataFrame, col: str, path: str, values: np.ndarray, what: str) -> None:
    """±inf in a numeric column is an error, never a missing value (one rule for every
    reader: docs/reliability.md, "Non-finite numbers")."""
    bad = np.isinf(values)
    if bad.any():
        raise DataError(
            f"{what} must be a finite number; got {values[np.flatnonzero(bad)[0]]}. Leave the "
            "cell empty (or NaN) for a missing value, or fix it.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )


def _check_statistics(
    frame: pd.DataFrame,
    col: str,
    path: str,
    values: np.ndarray,
    missing: np.ndarray,
    mean: float,
    std: float,
) -> None:
    """A finite value whose square overflows makes the column's std infinite: name it."""
    if np.isfinite(mean) and np.isfinite(std):
        return
    magnitude = np.where(missing, 0.0, np.abs(values))
    largest = magnitude == magnitude.max()
    raise DataError(
        f"the value {values[np.flatnonzero(largest)[0]]:g} is too large: the column's "
        f"{'mean' if not np.isfinite(mean) else 'standard deviation'} overflows to infinity. "
        "Rescale the column (e.g. to other units or a logarithm) or fix the cell.",
        path=path,
        line=first_line(frame, largest),
        column=col,
    )


def _check_float32(frame: pd.DataFrame, col: str, path: str, z: np.ndarray) -> None:
    """A standardised value beyond float32's range would reach the model as ±inf."""
    bad = ~(np.abs(z) <= np.finfo(np.float32).max)
    if bad.any():
        raise DataError(
            "the value is too far from the training values: standardised, it overflows "
            "float32 (the model's precision). Fix the cell or rescale the column.",
            path=path,
            line=first_line(frame, bad),
            column=col,
        )


def _texts(series: pd.Series) -> list[str]:
    miss = missing_mask(series)
    return [("" if m else str(v)) for v, m in zip(series.tolist(), miss, strict=True)]


def _is_token_cell(cell: object) -> bool:
    if isinstance(cell, np.ndarray) and cell.ndim == 1:  # Parquet lists arrive as arrays
        cell = cell.tolist()
    return isinstance(cell, list) and all(isinstance(w, str) for w in cell)


def _rows(frame: pd.DataFrame, col: str, path: str, *, words: bool) -> list[str | list[str]]:
    """Cells of a text/tokens column: strings, or word lists for ``tokens`` (a string cell is
    kept as a string and split into words by the tokenizer; a missing cell is empty)."""
    out: list[str | list[str]] = []
    for position, cell in enumerate(frame[col].tolist()):
        if isinstance(cell, np.ndarray) and cell.ndim == 1:
            cell = cell.tolist()
        if isinstance(cell, list):
            if not words or not all(isinstance(w, str | int | float) for w in cell):
                kind = "tokens" if words else "text"
                raise DataError(
                    f"{kind} input expected a string{' or a list of words' if words else ''}; "
                    f"got a list {str(cell)[:60]}. Declare the column as 'tokens' for word "
                    "lists, or fix the cell.",
                    path=path,
                    line=first_line(frame, np.arange(len(frame)) == position),
                    column=col,
                )
            out.append([str(w) for w in cell])
        elif cell is None or (isinstance(cell, float) and np.isnan(cell)):
            out.append([] if words else "")
        else:
            out.append(str(cell))
    return out


# -- images ------------------------------------------------------------------------------------
def _is_image_cell(cell: object) -> bool:
    if isinstance(cell, list):  # a JSONL image: rows of pixels (a token list has no inner list)
        return bool(cell) and isinstance(cell[0], list)
    return isinstance(cell, np.ndarray) and cell.ndim in (2, 3)


def _as_array(cell: object) -> np.ndarray:
    """A cell as an array; Parquet list-of-lists cells arrive as object arrays of arrays."""
    arr = np.asarray(cell)
    if arr.dtype == object and arr.ndim > 0 and arr.size:
        arr = np.stack([_as_array(c) for c in arr])
    return arr


def _image_problem(cell: object, shape: tuple[int, ...] | None) -> tuple[str, tuple[int, ...]]:
    """("", shape) for a usable image cell, else (what is wrong, ())."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return "a missing value (image cells cannot be empty)", ()
    try:
        arr = _as_array(cell)
    except (ValueError, TypeError):
        return "a ragged array (rows of different lengths)", ()
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        return f"a non-numeric value of type {type(cell).__name__} (dtype {arr.dtype})", ()
    if arr.ndim not in (2, 3):
        return f"an array of shape {arr.shape}; expected H x W or C x H x W", ()
    got = arr.shape if arr.ndim == 3 else (1, *arr.shape)
    if shape is not None and got != shape:
        return f"an image of shape {got} (C, H, W); expected {shape} like the others", ()
    return "", got


def _images(
    frame: pd.DataFrame, col: str, path: str, shape: list[int] | list[float] | None
) -> np.ndarray:
    """The image column as ``[N, C, H, W]`` (any numeric dtype), or a DataError naming the row.

    Cells are arrays, or paths of PNG/JPEG files relative to the table's folder.
    """
    if len(frame) and is_image_path(frame[col].iloc[0]):
        frame = frame.assign(**{col: read_image_files(frame, col, table=path)})
    cells = frame[col].tolist()
    want = None if shape is None else tuple(int(v) for v in shape)
    try:  # fast path: one stack of equally shaped numeric arrays
        stacked = np.stack(cells)
        if stacked.ndim == 3:
            stacked = stacked[:, None]
        numeric = stacked.ndim == 4 and np.issubdtype(stacked.dtype, np.number)
        if numeric and (want is None or stacked.shape[1:] == want):
            return _finite_pixels(frame, col, path, stacked)
    except (ValueError, TypeError):
        pass
    for position, cell in enumerate(cells):  # slow path: find the first bad row and say why
        problem, got = _image_problem(cell, want)
        if problem:
            raise DataError(
                f"image input expected (a numeric array, H x W or C x H x W, one shape for "
                f"every row); got {problem}. Fix or drop the row.",
                path=path,
                line=first_line(frame, np.arange(len(cells)) == position),
                column=col,
            )
        want = want or got
    return _finite_pixels(
        frame, col, path, np.stack([_as_array(c).reshape(want or ()) for c in cells])
    )


def _finite_pixels(frame: pd.DataFrame, col: str, path: str, images: np.ndarray) -> np.ndarray:
    """``images`` [N, C, H, W], or a DataError naming the first row with a NaN or ±inf pixel
    (an image has no missing pixels: docs/reliability.md, "Non-finite numbers")."""
    if not np.issubdtype(images.dtype, np.floating) or np.isfinite(images).all():
        return images
    bad = ~np.isfinite(images.reshape(len(images), -1)).all(axis=1)
    raise DataError(
        "image pixels must be finite numbers; this image holds NaN or ±inf. Fix or drop the row.",
        path=path,
        line=first_line(frame, bad),
        column=col,
    )


def _image_stats(images: np.ndarray) -> dict[str, list[float] | list[int]]:
    """Per-channel train mean and std of ``images`` [N, C, H, W] (std 0 becomes 1)."""
    mean = images.mean(axis=(0, 2, 3), dtype=np.float64)
    var = np.stack([images[:, c].var(dtype=np.float64) for c in range(images.shape[1])])
    std = np.sqrt(var)
    return {
        "shape": [int(v) for v in images.shape[1:]],
        "mean": [float(v) for v in mean],
        "std": [float(v) if v > 0 else 1.0 for v in std],
    }


def _standardise(images: np.ndarray, st: dict[str, list[float] | list[int]]) -> torch.Tensor:
    """``(images - mean) / std`` per channel, as float32 ``[N, C, H, W]``."""
    out = torch.from_numpy(np.ascontiguousarray(images)).to(torch.float32)
    mean = torch.tensor(st["mean"], dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(st["std"], dtype=torch.float32).view(1, -1, 1, 1)
    return (out - mean) / std


def _shape3(shape: list[int] | list[float]) -> tuple[int, int, int]:
    c, h, w = (int(v) for v in shape)
    return (c, h, w)


def _warn_cut(path: str, col: str, cut: np.ndarray, max_length: int) -> None:
    """Say how many words lost every piece to ``max_length`` (they still count in metrics)."""
    rows = int((cut > 0).sum())
    warnings.warn(
        f"{path}: column '{col}': {int(cut.sum())} words in {rows} of {len(cut)} rows come "
        f"after the first {max_length} pieces (model.encoder_options.max_length), so they have "
        "no piece of their own: every encoder predicts them from its output at the row's first "
        "position (the [CLS] start marker), which says nothing about the word, and their labels "
        "still count in the metrics. Raise max_length to keep them (bilstm and cnn have no "
        "position limit; transformer and pretrained ones allow at most their positions).",
        DataWarning,
        stacklevel=3,
    )
