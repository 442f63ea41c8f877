"""CrossStitch: α mixes task columns; α = identity gives independent columns."""

from __future__ import annotations

import torch

from manyheads.architectures import CrossStitch
from manyheads.architectures.cross_stitch import cross_stitch_init
from manyheads.encoders import TabularInput
from manyheads.testing import make_toy_problem

PROBLEM = make_toy_problem(32)


def build(**options: object) -> CrossStitch:
    torch.manual_seed(0)
    return CrossStitch(TabularInput(PROBLEM.spec), PROBLEM.out_dims, **options).eval()  # type: ignore[arg-type]


def perturbed(model: CrossStitch, task: str) -> tuple[dict[str, torch.Tensor], ...]:
    """Outputs before and after changing ``task``'s column weights."""
    with torch.no_grad():
        before = model(PROBLEM.x)
        for param in model.columns[task].parameters():
            param.add_(torch.randn_like(param))
        return before, model(PROBLEM.x)


def test_alpha_initialisation() -> None:
    model = build(hidden=(16, 8, 4))
    assert len(model.alphas) == 3
    expected = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]])
    for alpha in model.alphas:
        torch.testing.assert_close(alpha.detach(), expected)
    torch.testing.assert_close(cross_stitch_init(2), torch.tensor([[0.9, 0.1], [0.1, 0.9]]))
    torch.testing.assert_close(cross_stitch_init(1), torch.ones(1, 1))


def test_identity_alpha_gives_independent_columns() -> None:
    model = build()
    with torch.no_grad():
        for alpha in model.alphas:
            alpha.copy_(torch.eye(len(PROBLEM.out_dims)))
    before, after = perturbed(model, "multiclass")
    torch.testing.assert_close(after["binary"], before["binary"], rtol=0, atol=0)
    assert not torch.allclose(after["multiclass"], before["multiclass"])


def test_default_alpha_couples_columns() -> None:
    before, after = perturbed(build(), "multiclass")
    assert not torch.allclose(after["binary"], before["binary"])


def test_stitch_is_the_alpha_combination() -> None:
    model = build(hidden=(8,), tower=())
    with torch.no_grad():
        embedding = model.forward_features(PROBLEM.x)
        assert isinstance(embedding, torch.Tensor)
        columns = [model.columns[t][0](embedding) for t in PROBLEM.out_dims]
        alpha = model.alphas[0]
        stitched = sum(alpha[0, s] * h for s, h in enumerate(columns))  # eq. 1, task 0
        expected = model.towers.forward_task("binary", stitched)
        torch.testing.assert_close(model(PROBLEM.x)["binary"], expected)


def test_single_task_alpha_is_one() -> None:
    model = CrossStitch(TabularInput(PROBLEM.spec), {"binary": 1})
    assert all(alpha.item() == 1.0 for alpha in model.alphas)
