"""Per-token tag distributions of a tagging head, the ones its decoding stands on.

Without a CRF a tagging head's tokens are independent: the tag distribution of a token is the
softmax of its emissions. With a linear-chain CRF they are not: the model's distribution over
one token's tag is the *marginal* ``p(y_t = j | x)`` of the sentence distribution, which sums the
probabilities of every tag path through ``j`` at ``t`` (transitions, start and end scores
included) and is computed exactly by the forward-backward algorithm (Lafferty et al. 2001;
Sutton & McCallum, *An Introduction to Conditional Random Fields*, 2012, §4.1). The softmax of a
CRF's emissions alone is not its distribution: it leaves out the transitions.

Distilling a CRF (posterior distillation, Wang et al., *Structure-Level Knowledge Distillation
for Multilingual Sequence Labeling*, ACL 2020, §3.3) matches these marginals: the teacher's
per-token marginals are the soft targets, and a CRF student's own marginals (differentiable, so
the transitions learn from the teacher too) are what is compared with them.
:func:`token_logits` gives either kind as log-scores whose softmax is the distribution.
"""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.tasks._tagging import split_output

__all__ = ["crf_log_marginals", "token_logits"]


def crf_log_marginals(emissions: Tensor, mask: Tensor, crf: Tensor) -> Tensor:
    """``log p(y_t = j | x)`` of a linear-chain CRF, ``[B, W, C]`` (0 outside ``mask``).

    The forward scores ``α_t(j)`` (every path prefix ending in ``j`` at ``t``, its emission
    included) and backward scores ``β_t(j)`` (every path suffix after ``t`` from ``j``, the end
    score included) give ``log p(y_t = j) = α_t(j) + β_t(j) − log Z``. As in
    :mod:`manyheads.tasks._crf`, a sentence is the subsequence of its masked-in positions;
    differentiable in ``emissions`` and ``crf``.

    Args:
        emissions: ``[B, W, C]`` per-position tag scores.
        mask: ``[B, W]`` bool, the positions of each sentence.
        crf: ``[C + 2, C]`` transitions (rows ``0..C-1``), start (row C) and end (row C + 1).

    Example:
        >>> crf = torch.zeros(4, 2)
        >>> crf[1, 0] = -1e4  # tag 1 is never followed by tag 0
        >>> e = torch.zeros(1, 2, 2)  # paths 00, 01, 11 equally likely
        >>> crf_log_marginals(e, torch.ones(1, 2, dtype=torch.bool), crf).exp().round(decimals=4)
        tensor([[[0.6667, 0.3333],
                 [0.3333, 0.6667]]])
    """
    n_tags = crf.shape[1]
    trans, start, end = crf[:n_tags], crf[n_tags], crf[n_tags + 1]
    batch, width, _ = emissions.shape
    alpha = emissions.new_zeros(batch, n_tags)
    started = torch.zeros(batch, dtype=torch.bool, device=emissions.device)
    alphas = []
    for t in range(width):
        emit, on = emissions[:, t], mask[:, t].unsqueeze(1)
        following = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emit
        alpha = torch.where(on, torch.where(started.unsqueeze(1), following, start + emit), alpha)
        started = started | mask[:, t]
        alphas.append(alpha)
    log_z = torch.logsumexp(alpha + end, dim=1)  # [B]
    beta = end.expand(batch, n_tags)
    betas: list[Tensor] = [beta] * width
    for t in range(width - 1, -1, -1):
        betas[t] = beta  # the suffix after t (the end score at a sentence's last position)
        before = torch.logsumexp(trans + (emissions[:, t] + beta).unsqueeze(1), dim=2)
        beta = torch.where(mask[:, t].unsqueeze(1), before, beta)
    out = torch.stack(alphas, dim=1) + torch.stack(betas, dim=1) - log_z[:, None, None]
    return torch.where(mask.unsqueeze(2), out, torch.zeros_like(out))


def token_logits(output: Tensor, *, crf: bool, mask: Tensor) -> Tensor:
    """Per-token log-scores ``[B, W, C]`` of a tagging ``output`` whose softmax is the head's
    tag distribution: the emissions, or with a CRF its log-marginals over ``mask`` ``[B, W]``
    (the word slots; a wider mask is cut, a narrower one padded as unlabelled slots).

    Example:
        >>> out = torch.zeros(1, 2 + 2 + 2, 2)  # 2 words, 2 tags, the CRF rows all 0
        >>> token_logits(out, crf=True, mask=torch.ones(1, 2, dtype=torch.bool)).exp()
        tensor([[[0.5000, 0.5000],
                 [0.5000, 0.5000]]])
    """
    emissions, params = split_output(output, crf=crf)
    if params is None:
        return emissions
    width = emissions.shape[1]
    slots = mask[:, :width]
    if slots.shape[1] < width:
        slots = torch.nn.functional.pad(slots, (0, width - slots.shape[1]))
    return crf_log_marginals(emissions.float(), slots, params.float())
