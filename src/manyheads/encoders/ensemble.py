"""TabM-style parameter-efficient ensembles (Gorishniy et al., ICLR 2025, "TabM: Advancing
tabular deep learning with parameter-efficient ensembling"), the tabular encoders' ``ensemble``
option (issue 17).

TabM-mini trains ``k`` MLPs at once that share every weight but two: each member ``i`` multiplies
the backbone's input by its own vector ``r_i`` (paper §3.3, initialised with random signs) and
has its own output layer. The members are trained together, each on the whole batch, with the
mean of their losses, and their predictions are averaged (probabilities for classification).

The seam, so that every architecture runs ensembles unchanged:

* the encoder's :class:`MemberAdapter` turns its features ``[B, D]`` into ``[k*B, D]``, member by
  member (rows ``i*B .. (i+1)*B - 1`` are member ``i``'s), and the architecture runs on ``k*B``
  rows as on any batch;
* each task's output layer becomes a :class:`MemberLinear` (``TaskTowers.add_members``), so the
  heads' outputs are ``[k*B, ...]``;
* in training the loop scores every member against the targets repeated ``k`` times
  (:func:`repeat_members`): with mean-reduced losses that is the mean of the members' losses,
  and the balancing methods see per-task losses as usual;
* in evaluation the model averages the members (:func:`average_members`), so prediction, export
  and serving see ``[B, ...]``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["MEMBER_AVERAGES", "MemberAdapter", "MemberLinear", "average_members", "repeat_members"]

#: How each task type's outputs are averaged over the members: the probabilities of a sigmoid
#: or a softmax (returned as logits again), or the values themselves.
MEMBER_AVERAGES = {
    "binary": "sigmoid",
    "multilabel": "sigmoid",
    "multiclass": "softmax",
    "regression": "mean",
    "box": "mean",
}


class MemberAdapter(nn.Module):
    """``k`` multiplicative adapters on ``width`` features: ``[B, D] -> [k*B, D]``, member ``i``'s
    rows being ``x * r_i`` (TabM-mini's only member-specific weights before the heads).

    Args:
        n_members: the ``k`` members.
        width: the features' width ``D``.

    Example:
        >>> adapter = MemberAdapter(3, 2)
        >>> adapter(torch.ones(4, 2)).shape
        torch.Size([12, 2])
        >>> bool((adapter.weight.abs() == 1).all())  # random signs
        True
    """

    def __init__(self, n_members: int, width: int) -> None:
        super().__init__()
        self.n_members = n_members
        signs = torch.randint(0, 2, (n_members, width)).float() * 2 - 1
        self.weight = nn.Parameter(signs)  # [k, D]

    def forward(self, x: Tensor) -> Tensor:
        out = x.unsqueeze(0) * self.weight.unsqueeze(1)  # [k, B, D]
        return out.reshape(-1, x.shape[-1])  # [k*B, D]


class MemberLinear(nn.Module):
    """One ``Linear(in_dim, out_dim)`` per member, on rows laid out as :class:`MemberAdapter`
    lays them: ``[k*B, in_dim] -> [k*B, out_dim]``.

    Args:
        n_members: the ``k`` members.
        in_dim: input width.
        out_dim: output width.

    Example:
        >>> layer = MemberLinear(2, 3, 1)
        >>> layer(torch.zeros(8, 3)).shape
        torch.Size([8, 1])
    """

    def __init__(self, n_members: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1 / math.sqrt(in_dim)  # nn.Linear's scale, drawn per member
        self.n_members = n_members
        self.weight = nn.Parameter(torch.empty(n_members, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(n_members, 1, out_dim).uniform_(-bound, bound))

    @property
    def out_features(self) -> int:
        """The output width (as ``nn.Linear`` names it)."""
        return int(self.weight.shape[-1])

    def forward(self, x: Tensor) -> Tensor:
        h = x.reshape(self.n_members, -1, x.shape[-1])  # [k, B, in]
        out = torch.baddbmm(self.bias, h, self.weight)  # [k, B, out]
        return out.reshape(-1, out.shape[-1])


def repeat_members(target: Tensor, n_members: int) -> Tensor:
    """``target`` ``[B, ...]`` repeated for each member: ``[k*B, ...]`` in the members' layout.

    Example:
        >>> repeat_members(torch.tensor([1, 2]), 3)
        tensor([1, 2, 1, 2, 1, 2])
    """
    return target.repeat(n_members, *([1] * (target.dim() - 1)))


def average_members(out: Tensor, n_members: int, how: str) -> Tensor:
    """The members' outputs ``[k*B, ...]`` averaged into ``[B, ...]``, as TabM averages them:

    * ``sigmoid``: ``logit(mean_i sigmoid(z_i))``, computed as
      ``logsumexp_i log sigmoid(z_i) - logsumexp_i log sigmoid(-z_i)`` (stable, and exportable);
    * ``softmax``: ``log(mean_i softmax(z_i))``, logits of the mean probabilities;
    * ``mean``: the mean value.

    Example:
        >>> z = torch.tensor([0.0, 2.0, 2.0, 0.0])  # two members, two rows: p = (0.5 + 0.881) / 2
        >>> torch.sigmoid(average_members(z, 2, "sigmoid"))
        tensor([0.6904, 0.6904])
        >>> average_members(z, 2, "mean")
        tensor([1., 1.])
    """
    z = out.reshape(n_members, -1, *out.shape[1:])  # [k, B, ...]
    if how == "sigmoid":
        pos = torch.logsumexp(nn.functional.logsigmoid(z), dim=0)
        neg = torch.logsumexp(nn.functional.logsigmoid(-z), dim=0)
        return pos - neg
    if how == "softmax":
        return torch.logsumexp(torch.log_softmax(z, dim=-1), dim=0) - math.log(n_members)
    return z.mean(dim=0)
