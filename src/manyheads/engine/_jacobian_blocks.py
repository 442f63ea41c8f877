"""The per-task Jacobian of the shared parameters, written in cache-sized column blocks.

Each shared ``nn.Linear`` contributes ``δ_tᵀ a`` rows (one batched GEMM per block, the blend of a
running matrix done inside it); other shared parameters their small dense Jacobian. Used by
:mod:`manyheads.engine.backward` for the aggregators that need the Jacobian.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from manyheads.aggregation.base import ColumnwiseAggregator, JacobianTarget, blend_into
from manyheads.engine._task_gradients import task_deltas

__all__ = ["BLOCK_ELEMENTS", "columnwise_update", "shared_jacobian", "write_jacobian"]

#: Elements of one ``[T, n]`` column block of the Jacobian (4 MB in float32): a block is
#: written and consumed while it is in cache, so a fused method never re-reads ``[T, P]``.
BLOCK_ELEMENTS = 1 << 20


@dataclass(frozen=True)
class _Block:
    """Columns ``start .. stop`` of the Jacobian: ``δᵀa`` rows of a linear weight, or dense."""

    start: int
    stop: int
    delta: Tensor | None = None  # [T, B, r]: rows r of a linear layer's weight, with `inputs`
    inputs: Tensor | None = None  # [B, in]
    dense: Tensor | None = None  # [T, n]; None with no delta: zeros (no gradient this step)


def _jacobian_blocks(losses: Tensor, params: list[nn.Parameter]) -> tuple[int, list[_Block]]:
    """The number of columns ``P`` and blocks that cover each of them exactly once."""
    n_tasks, budget = losses.shape[0], BLOCK_ELEMENTS
    linear, deltas, rest = task_deltas(losses, params)
    offsets, total = {}, 0
    for p in params:
        offsets[id(p)] = total
        total += p.numel()
    blocks: list[_Block] = []
    written: set[int] = set()
    for layer, delta in zip(linear, deltas, strict=True):
        if delta is None:
            continue
        weight, bias = layer.weight, layer.bias
        a = layer.saved_input()  # [B, in]
        rows, width = weight.shape
        step = max(1, budget // (n_tasks * width))
        start = offsets[id(weight)]
        for r in range(0, rows, step):
            stop = min(rows, r + step)
            blocks.append(_Block(start + r * width, start + stop * width, delta[:, :, r:stop], a))
        start = offsets[id(bias)]
        bias_rows = delta.sum(dim=1, dtype=losses.dtype)  # [T, out]
        blocks.append(_Block(start, start + bias.numel(), dense=bias_rows))
        written.update((id(weight), id(bias)))
    for param, grad in rest:
        start = offsets[id(param)]
        dense = grad.reshape(n_tasks, -1).to(losses.dtype)
        blocks.append(_Block(start, start + param.numel(), dense=dense))
        written.add(id(param))
    for param in params:  # unused this step: zero columns
        if id(param) not in written:
            blocks.append(_Block(offsets[id(param)], offsets[id(param)] + param.numel()))
    return total, blocks


def _write_block(block: _Block, target: JacobianTarget, scaled: bool) -> None:
    """``target.buffer`` (the block's ``[T, n]`` columns) ``← keep · buffer + scale · J``."""
    dst = target.buffer
    if block.delta is not None and block.inputs is not None:
        n_tasks, batch, rows = block.delta.shape
        delta = block.delta.to(dst.dtype)  # bf16 under autocast: the Jacobian is float32
        delta = delta * target.scale.view(-1, 1, 1) if scaled else delta
        a = block.inputs.to(dst.dtype)
        # [T, r, in] (+)= δᵀ a for every task in one batched GEMM; beta 0 ignores the old content
        dst.view(n_tasks, rows, a.shape[1]).baddbmm_(
            delta.transpose(1, 2), a.expand(n_tasks, batch, a.shape[1]), beta=target.keep
        )
    elif block.dense is not None:
        blend_into(target, block.dense)
    elif target.keep == 0.0:
        dst.zero_()
    else:
        dst.mul_(target.keep)


def write_jacobian(losses: Tensor, params: list[nn.Parameter], target: JacobianTarget) -> None:
    """Write the per-task gradients of ``params`` into ``target`` [T, P] as it asks.

    ``target.buffer ← keep · buffer + scale[:, None] · J``, one column block at a time, the
    blend done by the matrix products that compute ``J`` (``baddbmm`` with ``beta = keep``);
    ``target.visit`` sees each block right after it is written.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> losses = torch.stack([w[0] * 3, (w ** 2).sum()])
        >>> y = torch.ones(2, 2)
        >>> write_jacobian(losses, [w], JacobianTarget(y, 0.5, torch.tensor([1.0, 0.5])))
        >>> y
        tensor([[3.5000, 0.5000],
                [1.5000, 2.5000]])
    """
    n_tasks = losses.shape[0]
    total, blocks = _jacobian_blocks(losses, params)
    if target.buffer.shape != (n_tasks, total) or target.buffer.dtype != losses.dtype:
        raise ValueError(f"the target must be a [{n_tasks}, {total}] {losses.dtype} tensor")
    scaled = not bool((target.scale == 1.0).all())
    with torch.no_grad():
        for block in blocks:
            view = replace(target, buffer=target.buffer[:, block.start : block.stop])
            _write_block(block, view, scaled)
            if target.visit is not None:
                target.visit(view.buffer, block.start)


def shared_jacobian(
    losses: Tensor, params: list[nn.Parameter], *, out: Tensor | None = None
) -> Tensor:
    """Per-task gradients of ``losses`` [T] w.r.t. ``params``, flattened: ``[T, P]``.

    Shared linear layers get their rows from one vectorised backward of activation gradients
    ``δ_t`` and ``δ_tᵀ a`` (batched matmuls per layer) instead of a vmapped weight gradient.
    ``out`` ([T, P], same dtype and device) receives the result instead of a fresh tensor: every
    entry is overwritten, with zeros where a parameter gets no gradient.

    Example:
        >>> w = nn.Parameter(torch.tensor([1.0, 2.0]))
        >>> shared_jacobian(torch.stack([w[0] * 3, (w ** 2).sum()]), [w])
        tensor([[3., 0.],
                [2., 4.]])
    """
    n_tasks = losses.shape[0]
    if out is None:
        out = losses.new_empty(n_tasks, sum(p.numel() for p in params))
    write_jacobian(losses, params, JacobianTarget(out, 0.0, losses.new_ones(n_tasks)))
    return out


def columnwise_update(
    losses: Tensor, params: list[nn.Parameter], method: ColumnwiseAggregator
) -> Tensor:
    """The update ``[P]`` of a column-wise method, the Jacobian streamed in column blocks.

    No ``[T, P]`` matrix exists: each block of ``δᵀa`` rows is computed into one scratch block
    that stays in cache and handed to ``method.combine``.
    """
    n_tasks = losses.shape[0]
    total, blocks = _jacobian_blocks(losses, params)
    update = losses.new_empty(total)
    width = max((b.stop - b.start for b in blocks if b.delta is not None), default=0)
    scratch = losses.new_empty(n_tasks * width)
    ones = losses.new_ones(n_tasks)
    method.begin(total, losses)
    with torch.no_grad():
        for block in blocks:
            n = block.stop - block.start
            if block.delta is not None:
                columns = scratch[: n_tasks * n].view(n_tasks, n)
                _write_block(block, JacobianTarget(columns, 0.0, ones), False)
            elif block.dense is not None:
                columns = block.dense
            else:
                columns = losses.new_zeros(n_tasks, n)
            method.combine(columns, block.start, update[block.start : block.stop])
    return update
