"""The wide path of Wide & Deep (Cheng et al., 2016) for the text columns of a table (issue 17).

Each task's logits get, beside its deep head, a linear function of the TF-IDF vector of every
text column read as a bag (the ``tabular`` encoders' ``text:<col>`` word and hashed-bigram ids):

    logits_t(x) = head_t(trunk(x)) + sum_c W_{t,c}^T tfidf_c(x)            (Cheng et al., eq. 3)

``tfidf_c`` is scikit-learn's default ``TfidfVectorizer`` form over those ids: raw counts times
the smooth IDF ``ln((1 + n) / (1 + df)) + 1`` fitted on the TRAIN rows (:meth:`WidePath.fit`),
L2-normalised per row; the unknown word (id 1), padding (id 0) and ids no train row holds weigh
0. ``W`` starts at zero (no random draw: every other parameter starts as without the path, at
the same seed) and is each task's own parameter (:meth:`WidePath.task_parameters`, listed by the
task's :class:`~manyheads.architectures.base.TaskTowers`), trained in its own optimiser group
with its own weight decay (``wide_decay``), the L2 penalty a linear model on TF-IDF needs.

How the rows reach the heads: the path reads each batch's ids when the input encoder is called
(a forward pre-hook on every ``TabularInput`` with text bags, :func:`attach_wide`), and the towers
add :meth:`WidePath.logits` to their outputs. The weights are a dense gather (``index_select``),
not an ``EmbeddingBag``, so the ONNX graph needs no sparse operator.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from manyheads._validation import NON_NEGATIVE, POSITIVE, STRINGS, Boolean, Constraints

__all__ = ["WIDE_CONSTRAINTS", "WidePath", "idf_of", "tfidf_weights"]

#: The model options of the wide path, with their constraints: ``wide`` (true: add it to every
#: task when the input encoder reads text bags; a list of task names: to those tasks),
#: ``wide_decay`` (its AdamW/Adam/SGD weight decay) and ``wide_lr`` (its learning rate; None: the
#: task layers' rate).
WIDE_CONSTRAINTS: Constraints = {
    "wide": [Boolean(), STRINGS],
    "wide_decay": [NON_NEGATIVE],
    "wide_lr": [POSITIVE, None],
}

#: Rows per chunk when counting document frequencies (bounds the memory of :func:`idf_of`).
_CHUNK = 8192


def idf_of(ids: Tensor, n_ids: int) -> Tensor:
    """Smooth IDF ``ln((1 + n) / (1 + df)) + 1`` of each id over the rows of ``ids`` ``[N, L]``
    (scikit-learn's ``TfidfVectorizer`` default), ``[n_ids]``; 0 for padding (0), the unknown
    word (1) and every id no row holds.

    Example:
        >>> idf = idf_of(torch.tensor([[2, 3, 0], [2, 2, 0]]), 5)
        >>> [round(v, 3) for v in idf.tolist()]
        [0.0, 0.0, 1.0, 1.405, 0.0]
    """
    df = torch.zeros(n_ids, dtype=torch.float64)
    for start in range(0, ids.shape[0], _CHUNK):
        chunk = ids[start : start + _CHUNK].long()
        rows = torch.arange(chunk.shape[0]).unsqueeze(1).expand_as(chunk)
        pairs = torch.unique(rows * n_ids + chunk)  # each (row, id) once
        df += torch.bincount(pairs % n_ids, minlength=n_ids).double()
    n = float(ids.shape[0])
    idf = torch.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df == 0] = 0.0
    idf[:2] = 0.0  # padding, unknown word
    return idf.float()


def tfidf_weights(ids: Tensor, idf: Tensor) -> Tensor:
    """Each position's weight in the row's L2-normalised TF-IDF vector, ``[B, L]``: summing
    ``weight * W[id]`` over the positions gives ``tfidf(row) @ W`` (a repeated id counts once
    per occurrence, which is its term frequency).

    Example:
        >>> w = tfidf_weights(torch.tensor([[2, 2, 3, 0]]), torch.tensor([0.0, 0.0, 1.0, 2.0]))
        >>> [round(v, 4) for v in w[0].tolist()]  # the vector (2, 2) / sqrt(8)
        [0.3536, 0.3536, 0.7071, 0.0]
    """
    w = idf[ids]  # [B, L]
    counts = (ids.unsqueeze(2) == ids.unsqueeze(1)).sum(2).to(w.dtype)  # [B, L]: tf of each id
    norm = (counts * w * w).sum(1, keepdim=True).sqrt()  # [B, 1]: sum over ids of (tf * idf)^2
    return w / norm.clamp(min=1e-12)


class WidePath(nn.Module):
    """Per task, a linear map of the TF-IDF vectors of the text bags, added to its logits.

    Args:
        text_sizes: ``(column, n_ids)`` of each text column read as a bag (the input spec's
            ``text_sizes``).
        out_dims: task name -> output width of its head, for the tasks that get the path.
        weight_decay: the weight decay of the path's optimiser group.
        lr: the learning rate of that group (None: the task layers').

    Example:
        >>> wide = WidePath([("title", 4)], {"y": 1, "z": 3})
        >>> wide.idf_0.copy_(torch.tensor([0.0, 0.0, 1.0, 1.0]))  # doctest: +ELLIPSIS
        tensor(...)
        >>> wide.read({"text:title": torch.tensor([[2, 3], [0, 0]])})
        >>> wide.logits("z", 2).shape  # zero at the start
        torch.Size([2, 3])
    """

    _params_owner: ClassVar[str] = "the model's wide path"

    def __init__(
        self,
        text_sizes: Sequence[tuple[str, int]],
        out_dims: dict[str, int],
        *,
        weight_decay: float = 0.0,
        lr: float | None = None,
    ) -> None:
        super().__init__()
        self.keys = [f"text:{col}" for col, _ in text_sizes]
        sizes = [n for _, n in text_sizes]
        self.weight_decay = weight_decay
        self.lr = lr
        starts = torch.tensor([0, *sizes[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("offsets", starts, persistent=False)
        for i, n in enumerate(sizes):  # fitted on the TRAIN split; saved with the weights
            self.register_buffer(f"idf_{i}", torch.zeros(n))
        # zeros, no random draw; [sum of n_ids, C] per task (columns one after the other)
        self.weight = nn.ParameterDict(
            {t: nn.Parameter(torch.zeros(sum(sizes), width)) for t, width in out_dims.items()}
        )
        self._batch: tuple[Tensor, Tensor] | None = None

    def idfs(self) -> list[Tensor]:
        """Each column's IDF buffer, in column order."""
        return [self.get_buffer(f"idf_{i}") for i in range(len(self.keys))]

    @torch.no_grad()
    def fit(self, x: dict[str, Any]) -> None:
        """Set each column's IDF from its ids ``x["text:<col>"]`` of the TRAIN split."""
        for key, idf in zip(self.keys, self.idfs(), strict=True):
            idf.copy_(idf_of(x[key], idf.shape[0]).to(idf.dtype))

    def read(self, x: dict[str, Tensor]) -> None:
        """Take a batch's text ids: the positions' global ids and TF-IDF weights ``[B, L']``
        that :meth:`logits` reads (called by the input encoder's pre-hook)."""
        offsets = self.offsets
        assert isinstance(offsets, Tensor)
        ids, weights = [], []
        for i, (key, idf) in enumerate(zip(self.keys, self.idfs(), strict=True)):
            col = x[key]  # [B, L_c]
            weights.append(tfidf_weights(col, idf))
            ids.append(col + offsets[i])
        self._batch = (torch.cat(ids, 1), torch.cat(weights, 1))

    def read_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """A forward pre-hook for the input encoder ``module``: :meth:`read` its input. A bound
        method, so that a deep copy of the model hooks the copy's path, not this one."""
        del module
        self.read(args[0])

    def logits(self, task: str, n_rows: int) -> Tensor:
        """``tfidf(x) @ W_task`` of the last batch read, ``[B, C]``; repeated to ``n_rows``
        rows (``k*B``: each member of a TabM-style ensemble gets the same wide logits)."""
        if self._batch is None:
            raise RuntimeError(
                "The wide path has read no batch: the model's input encoder runs first."
            )
        ids, w = self._batch  # [B, L], [B, L]
        weight = self.weight[task]
        rows = weight.index_select(0, ids.reshape(-1)).view(*ids.shape, -1)  # [B, L, C]
        out: Tensor = (rows * w.unsqueeze(-1).to(rows.dtype)).sum(1)  # [B, C]
        return out if n_rows == out.shape[0] else out.repeat(n_rows // out.shape[0], 1)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """The path's weights of ``task`` (none if it has no path)."""
        return [self.weight[task]] if task in self.weight else []
