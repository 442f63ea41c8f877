"""Linear-chain CRF: sequence log-likelihood (forward algorithm) and Viterbi decoding.

Lafferty, McCallum & Pereira, *Conditional Random Fields* (ICML 2001); the BiLSTM-CRF tagger of
Lample et al. (NAACL 2016, eq. 1-2). The score of tags ``y_1..y_n`` for emissions ``P`` is

    s(y) = start[y_1] + sum_t P[t, y_t] + sum_{t>1} A[y_{t-1}, y_t] + end[y_n]

and ``log p(y | x) = s(y) - logsumexp_{y'} s(y')``. The CRF parameter ``crf`` is ``[C + 2, C]``:
rows ``0..C-1`` are the transitions ``A[i, j]`` from tag i to tag j, row C the start scores and
row C + 1 the end scores (the layout :meth:`TaskTowers.add_crf` appends to a tagging output).

Both functions are vectorised over the batch and loop over the W word positions. ``mask`` [B, W]
selects the positions that belong to each sentence; positions outside it are skipped (a sentence
is the subsequence of its masked-in positions), and a row with no position is empty: its
log-likelihood is 0.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["crf_log_likelihood", "viterbi_decode"]


def _split(crf: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``[C + 2, C]`` -> transitions ``[C, C]``, start ``[C]``, end ``[C]``."""
    n_tags = crf.shape[1]
    assert crf.shape == (n_tags + 2, n_tags), f"CRF parameter of shape {tuple(crf.shape)}"
    return crf[:n_tags], crf[n_tags], crf[n_tags + 1]


def _gold_score(emissions: Tensor, tags: Tensor, mask: Tensor, crf: Tensor) -> Tensor:
    """``s(y)`` of the given tags ``[B]`` (0 for an empty row)."""
    trans, start, end = _split(crf)
    batch = emissions.shape[0]
    score = emissions.new_zeros(batch)
    last = tags.new_zeros(batch)
    started = torch.zeros(batch, dtype=torch.bool, device=emissions.device)
    for t in range(emissions.shape[1]):
        on, tag = mask[:, t], tags[:, t]
        emit = emissions[:, t].gather(1, tag.unsqueeze(1)).squeeze(1)  # [B]
        step = torch.where(started, trans[last, tag], start[tag]) + emit
        score = score + torch.where(on, step, torch.zeros_like(step))
        last = torch.where(on, tag, last)
        started = started | on
    return score + torch.where(started, end[last], torch.zeros_like(score))


def _log_partition(emissions: Tensor, mask: Tensor, crf: Tensor) -> Tensor:
    """``logsumexp`` of ``s(y')`` over every tag path ``[B]`` (0 for an empty row)."""
    trans, start, end = _split(crf)
    batch = emissions.shape[0]
    alpha = emissions.new_zeros(batch, crf.shape[1])  # [B, C] log-sum of paths ending in j
    started = torch.zeros(batch, dtype=torch.bool, device=emissions.device)
    for t in range(emissions.shape[1]):
        emit = emissions[:, t]  # [B, C]
        following = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emit  # [B, C]
        new = torch.where(started.unsqueeze(1), following, start + emit)
        alpha = torch.where(mask[:, t].unsqueeze(1), new, alpha)
        started = started | mask[:, t]
    total = torch.logsumexp(alpha + end, dim=1)
    return torch.where(started, total, torch.zeros_like(total))


def crf_log_likelihood(emissions: Tensor, tags: Tensor, mask: Tensor, crf: Tensor) -> Tensor:
    """``log p(tags | emissions)`` of every sentence, ``[B]`` (0 for a row without positions).

    Args:
        emissions: ``[B, W, C]`` per-position tag scores.
        tags: ``[B, W]`` int64 gold tags (ignored outside ``mask``).
        mask: ``[B, W]`` bool, the positions of each sentence.
        crf: ``[C + 2, C]`` transitions, start and end scores.

    Example:
        >>> e = torch.zeros(1, 2, 2)
        >>> ll = crf_log_likelihood(e, torch.tensor([[0, 1]]), torch.ones(1, 2, dtype=torch.bool),
        ...                         torch.zeros(4, 2))
        >>> round(float(ll.exp()), 4)  # 4 equally likely paths
        0.25
    """
    return _gold_score(emissions, tags, mask, crf) - _log_partition(emissions, mask, crf)


def viterbi_decode(emissions: Tensor, mask: Tensor, crf: Tensor) -> Tensor:
    """The highest-scoring tag path of every sentence, ``[B, W]`` int64 (0 outside ``mask``).

    Args:
        emissions: ``[B, W, C]`` per-position tag scores.
        mask: ``[B, W]`` bool, the positions of each sentence.
        crf: ``[C + 2, C]`` transitions, start and end scores.

    Example:
        >>> crf = torch.zeros(4, 2)
        >>> crf[1, 0] = -9.0  # tag 1 is never followed by tag 0
        >>> e = torch.tensor([[[0.0, 1.0], [2.0, 0.0]]])  # per-position argmax: [1, 0]
        >>> viterbi_decode(e, torch.ones(1, 2, dtype=torch.bool), crf).tolist()
        [[0, 0]]
    """
    trans, start, end = _split(crf)
    batch, width, n_tags = emissions.shape
    keep = torch.arange(n_tags, device=emissions.device).expand(batch, n_tags)  # "stay" pointers
    score = emissions.new_zeros(batch, n_tags)
    started = torch.zeros(batch, dtype=torch.bool, device=emissions.device)
    pointers = []
    for t in range(width):
        emit, on = emissions[:, t], mask[:, t]
        best, arg = (score.unsqueeze(2) + trans).max(dim=1)  # [B, C]: best previous tag per tag
        new = torch.where(started.unsqueeze(1), best + emit, start + emit)
        score = torch.where(on.unsqueeze(1), new, score)
        pointers.append(torch.where((on & started).unsqueeze(1), arg, keep))
        started = started | on
    current = (score + end).argmax(dim=1)  # [B]
    path = [current]
    for t in range(width - 1, 0, -1):
        current = pointers[t].gather(1, current.unsqueeze(1)).squeeze(1)
        path.append(current)
    tags = torch.stack(path[::-1], dim=1)
    return torch.where(mask, tags, torch.zeros_like(tags))
