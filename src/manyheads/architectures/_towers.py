"""Each task's tower and output layer (:class:`TaskTowers`), and the default widths of the MLPs
that an architecture stacks on its input encoder."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from manyheads._validation import RATE, WIDTHS, Constraints
from manyheads.encoders._wide import WidePath
from manyheads.encoders.base import InputEncoder
from manyheads.encoders.ensemble import MemberLinear
from manyheads.encoders.mlp import MLP, NORM

__all__ = ["TABLE_HIDDEN", "TABLE_TOWER", "TOWER_OPTIONS", "TaskTowers", "default_widths"]

#: Default widths of the MLPs stacked on the input encoder, for tables: ``hidden`` (the bottom)
#: and ``tower`` (each task's). On a text encoder both default to ``()``.
TABLE_HIDDEN = (128, 64)
TABLE_TOWER = (32,)

#: The task-tower options every architecture on an input encoder takes, with their constraints:
#: ``tower``, the widths of each task's tower (default ``(32,)``; ``()`` on a text encoder; None:
#: :func:`default_widths`); ``dropout``, the dropout probability of every MLP; ``norm``, their
#: normalisation, ``none``, ``batch`` or ``layer``. Those with a shared bottom add ``hidden``.
TOWER_OPTIONS: Constraints = {
    "tower": [WIDTHS, None],
    "dropout": [RATE],
    "norm": [NORM],
}


def default_widths(
    widths: Sequence[int] | None, encoder: InputEncoder, table_default: Sequence[int]
) -> tuple[int, ...]:
    """The layer widths an architecture uses: ``widths`` if given, else its default.

    The defaults suit tables (:data:`TABLE_HIDDEN`, :data:`TABLE_TOWER`). On an ``encoder``
    that reads token ids (``info.token_ids``: ``cnn``, ``bilstm``, ``transformer``,
    ``pretrained``) the default is no layer: the heads
    are linear on the encoder's features, as in Kim (2014), BiLSTM taggers and
    transformers' ``*ForSequenceClassification`` / ``*ForTokenClassification``. Fresh
    narrow layers between a fine-tuned encoder and its heads learn slowly at a fine-tuning
    learning rate: on uner-en-ewt, MiniLM with the table default ``hidden: [128, 64]``,
    ``tower: [32]`` kept NER F1 at 0.0 after an epoch on 3,000 sentences, and 0.64 with
    linear heads.

    Example:
        >>> from manyheads.data.preprocess import InputSpec
        >>> from manyheads.encoders import TabularInput
        >>> default_widths(None, TabularInput(InputSpec(3, (), ())), TABLE_HIDDEN)
        (128, 64)
        >>> default_widths([16], TabularInput(InputSpec(3, (), ())), TABLE_TOWER)
        (16,)
    """
    if widths is not None:
        return tuple(widths)
    return () if type(encoder).info.token_ids else tuple(table_default)


class TaskTowers(nn.Module):
    """One tower (an MLP) and one linear output layer per task.

    Args:
        in_dim: width of the tower input.
        out_dims: task name -> output width.
        tower: widths of each tower's hidden layers.
        dropout: dropout inside the towers.
        norm: normalisation inside the towers.
    """

    def __init__(
        self,
        in_dim: int | dict[str, int],
        out_dims: dict[str, int],
        tower: Sequence[int],
        *,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.towers = nn.ModuleDict()
        self.outputs = nn.ModuleDict()
        for task, width in out_dims.items():
            dim = in_dim[task] if isinstance(in_dim, dict) else in_dim
            mlp = MLP(dim, tower, dropout=dropout, norm=norm)
            self.towers[task] = mlp
            self.outputs[task] = nn.Linear(mlp.out_dim, width)
        self.transitions = nn.ParameterDict()
        #: the wide path of the text bags (:mod:`manyheads.encoders._wide`), if any
        self.wide: WidePath | None = None

    @classmethod
    def on(
        cls,
        encoder: InputEncoder,
        in_dim: int | dict[str, int],
        out_dims: dict[str, int],
        tower: Sequence[int] | None,
        *,
        dropout: float = 0.0,
        norm: str = "none",
    ) -> TaskTowers:
        """The towers of an architecture on ``encoder``: ``tower`` None takes the default widths
        for it (:func:`default_widths` with :data:`TABLE_TOWER`)."""
        widths = default_widths(tower, encoder, TABLE_TOWER)
        return cls(in_dim, out_dims, widths, dropout=dropout, norm=norm)

    def forward_all(
        self, h: Tensor | Sequence[Tensor], *, tasks: Sequence[str] | None = None
    ) -> dict[str, Tensor]:
        """The outputs (:meth:`forward_task`) of ``tasks`` (None: every task), in that order, from
        one input ``h`` read by every tower or from one input per task of ``tasks``; the other
        towers do not run."""
        names = list(self.outputs) if tasks is None else list(tasks)
        inputs = [h] * len(names) if isinstance(h, Tensor) else h
        return {t: self.forward_task(t, x) for t, x in zip(names, inputs, strict=True)}

    def add_crf(self, task: str) -> None:
        """Give ``task`` linear-chain CRF scores: a ``[C + 2, C]`` parameter (``C x C``
        transitions, then start and end scores), appended to its per-token output as C + 2
        extra positions, so the task type's loss and decoder can read them (see ``tagging``)."""
        output = self.outputs[task]
        assert isinstance(output, nn.Linear)
        n_tags = output.out_features
        self.transitions[task] = nn.Parameter(torch.zeros(n_tags + 2, n_tags))

    def add_members(self, n_members: int) -> None:
        """Give each task one output layer per member of a TabM-style ensemble
        (:class:`~manyheads.encoders.ensemble.MemberLinear`), in place of its one layer."""
        for task, output in self.outputs.items():
            assert isinstance(output, nn.Linear)
            self.outputs[task] = MemberLinear(n_members, output.in_features, output.out_features)

    def add_wide(self, wide: WidePath) -> None:
        """Add ``wide``'s logits to every task's output (Wide & Deep; its weights become each
        task's own parameters)."""
        self.wide = wide

    def forward_task(self, task: str, h: Tensor) -> Tensor:
        """Output of ``task``'s tower for input ``h`` [B, D]: [B] for width 1, else [B, C].

        Per-token input ``[B, L, D]`` gives ``[B, L, C]`` (``[B, L + C + 2, C]`` with a CRF).
        """
        out: Tensor = self.outputs[task](self.towers[task](h))
        if self.wide is not None and task in self.wide.weight:  # [N, C]: row-level encoders only
            out = out + self.wide.logits(task, out.shape[0]).to(out.dtype)
        if task in self.transitions and out.dim() == 3:
            trans = self.transitions[task]
            out = torch.cat([out, trans.unsqueeze(0).expand(out.shape[0], *trans.shape)], dim=1)
        return out.squeeze(-1) if out.shape[-1] == 1 else out

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """The tower, output (and CRF and wide-path) parameters of ``task``."""
        crf = [self.transitions[task]] if task in self.transitions else []
        wide = self.wide.task_parameters(task) if self.wide is not None else []
        own = [*self.towers[task].parameters(), *self.outputs[task].parameters()]
        return [*own, *crf, *wide]
