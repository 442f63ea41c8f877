"""Encoded columns kept as tensors and batched by index, so an epoch is model-bound."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict, Unpack

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from manyheads.data.sampling import SourceSampler

__all__ = ["GROUP_BATCHES", "Batch", "EncodedTable", "length_groups"]

#: batches per length group: rows are sorted by length within groups of this many batches.
GROUP_BATCHES = 50


class BatchOptions(TypedDict, total=False):
    """Keyword options of :meth:`EncodedTable.batches` (see :meth:`EncodedTable.batch_indices`)."""

    generator: torch.Generator | None
    drop_last: bool
    group_by_length: bool
    batch_tokens: int | None
    order: Tensor | None


@dataclass
class Batch:
    """A batch: inputs by name (``num``, ``cat``, ``text:<col>``), targets and masks by task."""

    x: dict[str, Tensor]
    y: dict[str, Tensor]
    mask: dict[str, Tensor]

    def to(self, device: torch.device) -> Batch:
        """The same batch on ``device``."""
        move = {k: v.to(device, non_blocking=True) for k, v in self.x.items()}
        return Batch(
            x=move,
            y={k: v.to(device, non_blocking=True) for k, v in self.y.items()},
            mask={k: v.to(device, non_blocking=True) for k, v in self.mask.items()},
        )


@dataclass
class EncodedTable:
    """A whole encoded split; :meth:`batches` slices it by index without Python per-row work.

    Example:
        >>> t = EncodedTable(x={"num": torch.zeros(5, 2)}, y={}, mask={}, n_rows=5)
        >>> [b.x["num"].shape[0] for b in t.batches(2)]
        [2, 2, 1]
    """

    x: dict[str, Tensor]
    y: dict[str, Tensor]
    mask: dict[str, Tensor]
    n_rows: int
    #: draws each shuffled epoch's rows across stacked sources (multi-source training).
    sampler: SourceSampler | None = None

    @classmethod
    def concat(
        cls, tables: Sequence[EncodedTable], *, pad: dict[str, int] | None = None
    ) -> EncodedTable:
        """Stack tables row-wise; per-token tensors of different widths are right-padded
        (with ``pad[key]``, 0 by default: False for masks, padding for ids).

        Example:
            >>> a = EncodedTable({"ids:t": torch.ones(2, 3, dtype=torch.long)}, {}, {}, 2)
            >>> b = EncodedTable({"ids:t": torch.ones(1, 5, dtype=torch.long)}, {}, {}, 1)
            >>> EncodedTable.concat([a, b]).x["ids:t"].shape
            torch.Size([3, 5])
        """
        pad = pad or {}

        def stack(parts: list[Tensor], key: str) -> Tensor:
            if parts[0].dim() >= 2 and parts[0].dtype in (torch.int64, torch.bool):
                width = max(p.shape[1] for p in parts)
                value = pad.get(key, 0)
                parts = [
                    F.pad(p, (0, 0) * (p.dim() - 2) + (0, width - p.shape[1]), value=value)
                    for p in parts
                ]
            return torch.cat(parts)

        first = tables[0]
        return cls(
            x={k: stack([t.x[k] for t in tables], k) for k in first.x},
            y={k: stack([t.y[k] for t in tables], k) for k in first.y},
            mask={k: stack([t.mask[k] for t in tables], k) for k in first.mask},
            n_rows=sum(t.n_rows for t in tables),
        )

    def take(self, index: Tensor) -> Batch:
        """Rows ``index`` as a :class:`Batch`."""
        return Batch(
            x={k: v.index_select(0, index) for k, v in self.x.items()},
            y={k: v.index_select(0, index) for k, v in self.y.items()},
            mask={k: v.index_select(0, index) for k, v in self.mask.items()},
        )

    def lengths(self) -> Tensor | None:
        """Real tokens per row ``[n_rows]``, summed over the text inputs (``attn:<col>``);
        None when the table has no text input."""
        attn = [v for k, v in self.x.items() if k.startswith("attn:")]
        if not attn:
            return None
        return torch.stack([a.sum(dim=1) for a in attn]).sum(dim=0)

    def batches(self, batch_size: int, **options: Unpack[BatchOptions]) -> Iterator[Batch]:
        """Yield the batches of :meth:`batch_indices` (same arguments)."""
        for chunk in self.batch_indices(batch_size, **options):
            yield self.take(chunk)

    def batch_indices(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
        group_by_length: bool = False,
        batch_tokens: int | None = None,
        order: Tensor | None = None,
    ) -> list[Tensor]:
        """Row indices of each batch over rows ``order`` (all rows in order by default);
        shuffled with ``generator`` when one is given (drawn by ``sampler`` across sources
        when there is one). With ``group_by_length`` too, rows of similar length share a batch
        of ``batch_size`` rows, or of up to ``batch_tokens`` padded pieces when that is given
        (see :func:`length_groups`), so trimming each batch to its longest row saves the
        padding.
        """
        if generator is not None and self.sampler is not None:
            order = self.sampler.order(generator)
        elif generator is not None:
            order = torch.randperm(self.n_rows, generator=generator)
        elif order is None:
            order = torch.arange(self.n_rows)
        grouped = (group_by_length or batch_tokens is not None) and generator is not None
        lengths = self.lengths() if grouped else None
        if lengths is not None and generator is not None:
            chunks = length_groups(order, lengths, batch_size, generator, batch_tokens=batch_tokens)
        else:
            chunks = list(torch.split(order, batch_size))
        if drop_last and batch_tokens is None:
            chunks = [c for c in chunks if len(c) == batch_size]
        return chunks

    def mean_length(self) -> float | None:
        """Mean real tokens per row (see :meth:`lengths`), None without a text input."""
        lengths = self.lengths()
        return None if lengths is None or not len(lengths) else float(lengths.float().mean())

    def labelled_counts(self) -> dict[str, int]:
        """Number of labelled rows per task."""
        return {task: int(m.sum()) for task, m in self.mask.items()}


def length_groups(
    order: Tensor,
    lengths: Tensor,
    batch_size: int,
    generator: torch.Generator,
    *,
    batch_tokens: int | None = None,
) -> list[Tensor]:
    """Cut the shuffled rows ``order`` into batches of rows of similar length, in random order.

    ``order`` is split into groups of :data:`GROUP_BATCHES` × ``batch_size`` rows; each group
    is sorted by length (longest first) and cut into batches, and the batches of the epoch are
    shuffled. Every row still comes once per epoch and batches stay random in composition
    across epochs. This is the length-grouped sampling of ``transformers``'
    ``group_by_length`` and AllenNLP's bucket iterator.

    A batch holds ``batch_size`` rows (only the epoch's last batch can be short), or, with
    ``batch_tokens``, as many rows as fit in that many padded pieces (rows × the longest row,
    at least one row), as fairseq's ``max_tokens`` does: then every batch carries about the
    same number of tokens, so a per-token loss weighs every token of the epoch alike instead
    of favouring the tokens of short rows.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> lengths = torch.tensor([1, 9, 2, 8, 3, 7])
        >>> batches = length_groups(torch.randperm(6, generator=g), lengths, 2, g)
        >>> sorted(sorted(lengths[b].tolist()) for b in batches)
        [[1, 2], [3, 7], [8, 9]]
        >>> batches = length_groups(torch.randperm(6, generator=g), lengths, 2, g, batch_tokens=9)
        >>> sorted(sorted(lengths[b].tolist()) for b in batches)
        [[1, 2, 3], [7], [8], [9]]
    """
    group = batch_size * GROUP_BATCHES
    batches: list[Tensor] = []
    for part in torch.split(order, group):
        ranked = part[torch.argsort(lengths[part], descending=True, stable=True)]
        if batch_tokens is None:
            batches.extend(torch.split(ranked, batch_size))
            continue
        sizes = lengths[ranked].tolist()
        start = 0
        while start < len(sizes):
            rows = max(1, batch_tokens // max(1, int(sizes[start])))
            batches.append(ranked[start : start + rows])
            start += rows
    if not batches:
        return []
    short = batch_tokens is None and len(batches[-1]) < batch_size
    last = batches.pop() if short else None
    shuffled = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return [*shuffled, last] if last is not None else shuffled
