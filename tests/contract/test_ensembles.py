"""Every architecture on an input encoder runs a TabM-style ensemble (``ensemble: 2``): it trains
one step under a balancing method, predicts one row per input row, and exports to ONNX.

``mtan`` reads images into its own network and takes no encoder options, so no ensemble.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from manyheads import create_method
from manyheads.architectures import MTLModel, list_architectures
from manyheads.architectures._registry import architecture_options, build_model
from manyheads.data.tensors import Batch
from manyheads.engine.backward import backward
from manyheads.engine.loop import task_losses
from manyheads.testing import make_toy_problem

TOY = make_toy_problem(24, task_types=("binary", "multiclass", "regression", "multilabel"))
ENCODER_ARCHS = [a for a in list_architectures() if "encoder" in architecture_options(a)]
SMALL = {"hidden": [8], "tower": [4], "expert_hidden": [4], "n_experts": 2}
#: A loss weighting, a Gramian aggregator, a Jacobian aggregator, one at the features, GradNorm.
METHODS = ["uw", "upgrad", "pcgrad", "mgda", "gradnorm"]


pytestmark = pytest.mark.usefixtures("one_thread")


def ensemble(arch: str, encoder: str = "tabular", k: int = 2) -> MTLModel:
    torch.manual_seed(0)
    valid = architecture_options(arch)
    options = {key: v for key, v in SMALL.items() if key in valid}
    options |= {"encoder": encoder, "encoder_options": {"ensemble": k}}
    return build_model(arch, TOY.spec, TOY.fitted_tasks, options)


def one_step(model: MTLModel, method: str = "ew") -> None:
    """One optimiser step of every task's loss; every parameter that the tasks use moves."""
    balancing = create_method(method, len(TOY.fitted_tasks))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    features = model.forward_features(TOY.x)
    losses = task_losses(
        model.task_outputs(features), Batch(TOY.x, TOY.y, TOY.mask), TOY.fitted_tasks
    )
    assert losses.shape == (len(TOY.fitted_tasks),)
    assert torch.isfinite(losses).all()
    backward(losses, model, balancing, features=features, penalty=model.penalty())
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    moved = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
    assert any("members" in n for n in moved), moved  # the adapters learn
    assert any("outputs" in n for n in moved), moved


@pytest.mark.parametrize("encoder", ["tabular", "tabular_embed"])
@pytest.mark.parametrize("arch", ENCODER_ARCHS)
def test_every_architecture_trains_and_predicts_an_ensemble(arch: str, encoder: str) -> None:
    model = ensemble(arch, encoder)
    assert model.n_members == 2
    one_step(model)
    model.eval()
    with torch.no_grad():
        out = model(TOY.x)
    n = TOY.n_rows
    assert {t: o.shape[0] for t, o in out.items()} == {t: n for t in TOY.out_dims}
    assert all(torch.isfinite(o).all() for o in out.values())


@pytest.mark.parametrize("method", METHODS)
def test_balancing_methods_see_per_task_losses_of_an_ensemble(method: str) -> None:
    one_step(ensemble("hps"), method)


@pytest.mark.parametrize("arch", ["hps", "mmoe", "cascade"])
def test_an_ensemble_exports_to_onnx(arch: str, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from tests.unit.export.test_onnx import assert_exports

    model = ensemble(arch, "tabular_embed", k=3)
    assert_exports(model, TOY.x, tmp_path / "model.onnx")
