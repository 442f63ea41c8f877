"""Batching of encoded tables: shuffled, length-grouped, and predictions back in row order."""

from __future__ import annotations

import torch
from torch import Tensor

from manyheads.data.tensors import EncodedTable, length_groups
from manyheads.engine.loop import predict_outputs


def _padded_cost(batches: list[Tensor], lengths: Tensor) -> int:
    """Tokens computed when each batch is trimmed to its longest row."""
    return sum(int(lengths[b].max()) * len(b) for b in batches)


def _table(lengths: Tensor) -> EncodedTable:
    width = int(lengths.max())
    attn = torch.arange(width).expand(len(lengths), width) < lengths[:, None]
    ids = torch.where(attn, 5, 0)
    return EncodedTable(x={"ids:t": ids, "attn:t": attn}, y={}, mask={}, n_rows=len(lengths))


def test_length_groups_take_every_row_once_and_cuts_the_padding() -> None:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 101, (1000,), generator=g)
    order = torch.randperm(1000, generator=g)
    batches = length_groups(order, lengths, 16, g)
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(1000))
    assert [len(b) for b in batches[:-1]] == [16] * 62  # only the epoch's last batch is short
    assert len(batches[-1]) == 1000 - 62 * 16
    real = int(lengths.sum())
    assert _padded_cost(list(order.split(16)), lengths) / real > 1.5  # random batches
    assert _padded_cost(batches, lengths) / real < 1.1
    longest = [int(lengths[b].max()) for b in batches]
    assert longest != sorted(longest)  # batches are shuffled, not sorted
    assert longest != sorted(longest, reverse=True)


def test_token_budget_batches_carry_about_the_same_number_of_tokens() -> None:
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 101, (2000,), generator=g)
    budget = 16 * 50
    batches = length_groups(torch.randperm(2000, generator=g), lengths, 16, g, batch_tokens=budget)
    assert torch.equal(torch.cat(batches).sort().values, torch.arange(2000))
    padded = sorted(int(lengths[b].max()) * len(b) for b in batches)
    assert padded[-1] <= budget  # no row is longer than the budget here
    # every batch but the last of each of the 3 groups is full to within one longest row
    assert padded[3] > budget - 100
    sizes = [len(b) for b in batches]  # while the rows per batch vary widely
    assert min(sizes) <= 9
    assert max(sizes) >= 50


def test_a_row_longer_than_the_token_budget_gets_a_batch_of_its_own() -> None:
    g = torch.Generator().manual_seed(0)
    lengths = torch.tensor([50, 3, 3])
    batches = length_groups(torch.arange(3), lengths, 2, g, batch_tokens=10)
    assert sorted(len(b) for b in batches) == [1, 2]


def test_length_groups_are_seeded_and_changes_between_epochs() -> None:
    lengths = torch.arange(1, 201)

    def epochs(seed: int) -> list[list[list[int]]]:
        g = torch.Generator().manual_seed(seed)
        table = _table(lengths)
        return [
            [
                b.x["attn:t"].sum(1).tolist()
                for b in table.batches(8, generator=g, group_by_length=True)
            ]
            for _ in range(2)
        ]

    first, again = epochs(0), epochs(0)
    assert first == again
    assert first[0] != first[1]
    assert epochs(1) != first


def test_grouped_batches_hold_rows_of_similar_length_and_drop_last() -> None:
    lengths = torch.tensor([1, 9, 2, 8, 3, 7, 4])
    g = torch.Generator().manual_seed(3)
    batches = list(_table(lengths).batches(2, generator=g, group_by_length=True, drop_last=True))
    spans = sorted(sorted(b.x["attn:t"].sum(1).tolist()) for b in batches)
    # one group, sorted longest first (9 8 | 7 4 | 3 2 | 1): the short last batch is dropped
    assert spans == [[2, 3], [4, 7], [8, 9]]


def test_tables_without_text_have_no_lengths_and_batch_as_before() -> None:
    table = EncodedTable(x={"num": torch.arange(5.0)[:, None]}, y={}, mask={}, n_rows=5)
    assert table.lengths() is None
    g = torch.Generator().manual_seed(0)
    plain = [b.x["num"].flatten().tolist() for b in table.batches(2, generator=g)]
    g = torch.Generator().manual_seed(0)
    grouped = [
        b.x["num"].flatten().tolist() for b in table.batches(2, generator=g, group_by_length=True)
    ]
    assert plain == grouped


class _LengthModel(torch.nn.Module):
    """Outputs each row's token count, and records the batches it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.task_names = ["t"]
        self.seen: list[list[int]] = []

    def forward(self, x: dict[str, Tensor]) -> dict[str, Tensor]:
        n = x["attn:t"].sum(1)
        self.seen.append(n.tolist())
        return {"t": n[:, None].float()}


def test_predictions_run_shortest_first_and_come_back_in_row_order() -> None:
    lengths = torch.tensor([5, 1, 4, 2, 3, 6])
    model = _LengthModel()
    out = predict_outputs(model, _table(lengths), batch_size=2, device=torch.device("cpu"))  # type: ignore[arg-type]
    assert out["t"].flatten().tolist() == lengths.float().tolist()
    assert model.seen == [[1, 2], [3, 4], [5, 6]]
