"""Sequence tagging: one tag per token (POS, NER chunks), token cross-entropy or a linear CRF.

A label cell is the list of a row's tags (a JSONL list, a CoNLL tag column; a string cell is split
on whitespace), one per word of the row's ``tokens`` input; a missing cell is an unlabelled row
(rows of another source in a multi-source run). The model's output is ``[B, W, C]`` (``[B, W + C +
2, C]`` with ``crf``: the CRF parameter rides along, see :mod:`manyheads.tasks._crf`).

Metrics: token ``accuracy``; with a chunk ``scheme`` (``bio``/``iob2``, ``bioes``) also the
entity-level micro ``f1``, ``precision`` and ``recall`` of seqeval (Nakayama 2018): conlleval's
rules for ``bio``, strict IOBES for ``bioes`` (an entity counts only if its tags are well formed
and its span and type match exactly).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor

from manyheads._registry import did_you_mean
from manyheads.errors import DataError, InvalidParameterError
from manyheads.tasks._base import (
    State,
    TaskExample,
    TaskType,
    as_tensor,
    masked_mean,
    metric_scores,
)
from manyheads.tasks._crf import crf_log_likelihood, viterbi_decode
from manyheads.tasks._tags import check_scheme, tag_rows
from manyheads.tasks._unseen import Unseen, unseen_labels
from manyheads.tasks.task import Task

__all__ = ["SCHEMES", "Tagging"]

#: scheme name (as written in a task) -> canonical scheme (None: no chunks, accuracy only).
SCHEMES: dict[str, str | None] = {"none": None, "bio": "bio", "iob2": "bio", "bioes": "bioes"}
_ENTITY_METRICS = ("f1", "precision", "recall")


class Tagging(TaskType):
    """One of C tags for every word of a ``tokens`` input; optional linear-chain CRF."""

    name = "tagging"
    level = "token"
    extra_fields: ClassVar[tuple[str, ...]] = ("scheme", "crf", "label_smoothing")
    summary = (
        "one tag per token (POS, NER); scheme none|bio|bioes, crf; "
        "entity f1/precision/recall with a scheme (f1 primary), token accuracy"
    )
    metric_directions: ClassVar[dict[str, bool]] = {
        "f1": True,
        "precision": True,
        "recall": True,
        "accuracy": True,
    }
    example = TaskExample(
        {"ner": (["B-PER", "O"], ["O"], ["B-LOC", "I-LOC", "O"], ["O", "B-PER"], ["O"], ["B-LOC"])},
        {"scheme": "bio", "crf": True},
    )

    def check_task(self, task: Task) -> None:
        for key in ("loss", "class_weight", "positive"):  # said more precisely than the base
            if getattr(task, key) is not None:
                raise InvalidParameterError(
                    f"Tagging task '{task.name}' does not take '{key}' (its loss is the token "
                    "cross-entropy, or the CRF negative log-likelihood with 'crf: true')."
                )
        super().check_task(task)
        if task.scheme is not None and task.scheme not in SCHEMES:
            raise InvalidParameterError(
                f"The 'scheme' of tagging task '{task.name}' must be one of "
                f"{', '.join(SCHEMES)}. Got {task.scheme!r}."
                f"{did_you_mean(str(task.scheme), list(SCHEMES))}"
            )
        if not isinstance(task.crf, bool):
            raise InvalidParameterError(
                f"The 'crf' of tagging task '{task.name}' must be true or false. Got {task.crf!r}."
            )
        if task.crf and task.label_smoothing:
            raise InvalidParameterError(
                f"The 'label_smoothing' of tagging task '{task.name}' applies to the token "
                "cross-entropy, not to a CRF: remove one of 'label_smoothing' and 'crf'."
            )
        chunked = [m for m in task.metrics or () if m in _ENTITY_METRICS]
        if chunked and _scheme(task) is None:
            raise InvalidParameterError(
                f"The metric(s) {chunked} of tagging task '{task.name}' count entities and need "
                "a chunk 'scheme' (bio or bioes). Set 'scheme' or use 'accuracy'."
            )

    def metric_names(self, task: Task) -> tuple[str, ...]:
        if task.metrics:
            return task.metrics
        return (*_ENTITY_METRICS, "accuracy") if _scheme(task) else ("accuracy",)

    def fit(self, task: Task, frame: pd.DataFrame, path: str) -> State:
        column = task.label_columns[0]
        rows = tag_rows(task, frame, path)
        tags = sorted({tag for row in rows if row for tag in row})
        if not tags:
            raise DataError(
                f"task '{task.name}' has no tags in the training data (every row is unlabelled).",
                path=path,
                column=column,
            )
        scheme = _scheme(task)
        if scheme is not None:
            check_scheme(task, scheme, rows, frame, path)
        return {"tags": tags}

    def encode(
        self, task: Task, state: State, frame: pd.DataFrame, path: str, *, unseen: str = "warn"
    ) -> tuple[Tensor, Tensor]:
        """Tag ids ``[N, W]``; a tag unseen in training is -1 with its mask True (it counts
        as wrong in the metrics, not in the loss), or a DataError with ``unseen`` ``error``."""
        rows = tag_rows(task, frame, path)
        lookup = {tag: i for i, tag in enumerate(state["tags"])}
        width = max([1, *(len(r) for r in rows if r is not None)])
        target = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=bool)
        new: list[str] = []
        new_rows = np.zeros(len(rows), dtype=bool)
        for i, row in enumerate(rows):
            if row is None:
                continue
            ids = [lookup.get(tag, -1) for tag in row]
            if -1 in ids:
                new += [tag for tag in row if tag not in lookup]
                new_rows[i] = True
            target[i, : len(row)] = ids
            mask[i, : len(row)] = True
        unseen_labels(
            task,
            Unseen(new, new_rows),
            frame,
            path,
            known=state["tags"],
            word="tag",
            unit="tokens",
            mode=unseen,
        )
        return as_tensor(target, torch.int64), as_tensor(mask, torch.bool)

    def out_dim(self, state: State) -> int:
        return len(state["tags"])

    def loss(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> Tensor:
        """Mean token cross-entropy over labelled tokens, or with ``crf`` the negative
        log-likelihood of the labelled sentences (Lample et al. 2016, eq. 2) per labelled token.

        The CRF loss is summed over sentences and divided by the labelled tokens (pytorch-crf's
        ``token_mean``), so it is in nats per token like the cross-entropy of the other tagging
        tasks: a per-sentence mean is about a sentence's length times larger, and under equal
        weights it took the shared encoder from a POS task beside it (UNER, MiniLM ``hps``:
        UPOS 94.5 with the per-sentence NLL, against 96.4 without a CRF).

        A tag unseen in training (target -1) has no loss; with a CRF its whole sentence has none.
        """
        emissions, crf = split_output(output, crf=task.crf)
        target, mask = _pad_slots(target, emissions.shape[1]), _pad_slots(mask, emissions.shape[1])
        known = mask & (target >= 0)
        target = target.clamp(min=0)
        if crf is not None:
            ll = crf_log_likelihood(emissions.float(), target, mask, crf.float())
            labelled = mask.any(dim=1) & (known == mask).all(dim=1)
            return -(ll * labelled).sum() / (mask & labelled[:, None]).sum().clamp(min=1)
        n_tags = emissions.shape[-1]
        per_token = F.cross_entropy(
            emissions.reshape(-1, n_tags),
            target.reshape(-1),
            reduction="none",
            label_smoothing=task.label_smoothing,
        )
        return masked_mean(per_token, known.reshape(-1))

    def predict(
        self, task: Task, state: State, output: Tensor, *, mask: Tensor | None = None
    ) -> dict[str, np.ndarray]:
        """``{task: tag lists}``, one list per row.

        Args:
            mask: ``[N, W]`` bool, the real word slots of each row (the ``wmask:<col>`` of the
                encoded ``tokens`` input). With it every list has the row's number of words and a
                CRF decodes each sentence over its own words; without it every list has all W
                slots of the padded output (trim them to the row's words).
        """
        emissions, crf = split_output(output, crf=task.crf)
        if mask is None:
            mask = torch.ones(emissions.shape[:2], dtype=torch.bool, device=emissions.device)
        mask = _pad_slots(mask, emissions.shape[1])
        paths = decode(emissions, mask, crf).cpu().numpy()
        keep = mask.cpu().numpy()
        names = np.asarray(state["tags"], dtype=object)
        out = np.empty(len(paths), dtype=object)
        for i in range(len(paths)):
            out[i] = names[paths[i][keep[i]]].tolist()
        return {task.name: out}

    def predict_words(
        self, task: Task, state: State, output: Tensor, words: Tensor
    ) -> dict[str, np.ndarray]:
        """:meth:`predict` with each row's word slots: lists as long as the rows."""
        return self.predict(task, state, output, mask=words)

    def score(
        self, task: Task, state: State, output: Tensor, target: Tensor, mask: Tensor
    ) -> dict[str, float]:
        emissions, crf = split_output(output, crf=task.crf)
        target, mask = _pad_slots(target, emissions.shape[1]), _pad_slots(mask, emissions.shape[1])
        pred = decode(emissions, mask, crf).cpu().numpy()
        m, y = mask.cpu().numpy(), target.cpu().numpy()
        n = int(m.sum())
        entities = _entity_scores(_scheme(task), state["tags"], y, pred, m) if n else {}
        if n:
            entities["accuracy"] = float((y[m] == pred[m]).mean())
        return metric_scores(self.metric_names(task), n, entities.__getitem__)


def _scheme(task: Task) -> str | None:
    return None if task.scheme is None else SCHEMES[task.scheme]


def split_output(output: Tensor, *, crf: bool) -> tuple[Tensor, Tensor | None]:
    """A tagging output -> emissions ``[B, W, C]`` and the CRF parameter ``[C + 2, C]`` or None.

    Example:
        >>> emissions, crf = split_output(torch.zeros(2, 5 + 3 + 2, 3), crf=True)
        >>> tuple(emissions.shape), tuple(crf.shape)
        ((2, 5, 3), (5, 3))
    """
    if output.dim() == 2:  # a head of width 1 is squeezed to [B, W]
        output = output.unsqueeze(-1)
    if not crf:
        return output, None
    n_tags = output.shape[-1]
    width = output.shape[1] - n_tags - 2
    assert width >= 0, f"CRF output of shape {tuple(output.shape)} lacks its {n_tags + 2} rows"
    return output[:, :width], output[0, width:]


def decode(emissions: Tensor, mask: Tensor, crf: Tensor | None) -> Tensor:
    """The predicted tag ids ``[B, W]``: per-token argmax, or the Viterbi path with a CRF."""
    if crf is None:
        return emissions.argmax(dim=-1)
    return viterbi_decode(emissions.float(), mask, crf.float())


def _pad_slots(values: Tensor, width: int) -> Tensor:
    """Pad a target or mask ``[N, W']`` with 0 / False (unlabelled) slots to the output's W words.

    A frame's tag width is its longest tag list; the output's is its longest word list, which is
    longer when the longest rows are unlabelled (another source's rows).
    """
    extra = width - values.shape[1]
    assert extra >= 0, f"{values.shape[1]} tag slots for an output of {width} words"
    return F.pad(values, (0, extra)) if extra else values


def _entity_scores(
    scheme: str | None, tags: list[str], y: np.ndarray, pred: np.ndarray, mask: np.ndarray
) -> dict[str, float]:
    """Entity-level micro precision, recall and F1 (seqeval) over the labelled rows; a gold tag
    unseen in training (-1) reads as the start of an entity of type ``<unseen>``, which no
    prediction can match."""
    if scheme is None:
        return {}
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOBES

    names = np.asarray([*tags, ("S-" if scheme == "bioes" else "B-") + "<unseen>"], dtype=object)
    rows = [i for i in range(len(y)) if mask[i].any()]
    gold = [names[y[i][mask[i]]].tolist() for i in rows]
    found = [names[pred[i][mask[i]]].tolist() for i in rows]
    options: dict[str, Any] = {"zero_division": 0}
    if scheme == "bioes":
        options |= {"mode": "strict", "scheme": IOBES}
    return {
        "f1": float(f1_score(gold, found, **options)),
        "precision": float(precision_score(gold, found, **options)),
        "recall": float(recall_score(gold, found, **options)),
    }
