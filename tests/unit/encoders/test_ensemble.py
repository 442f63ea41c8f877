"""The ``ensemble`` option of the tabular encoders (TabM-mini): a plain model at k=1, k members
scored in training, averaged in evaluation, and saved and loaded like any model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import manyheads as mh
from manyheads.architectures import MTLModel
from manyheads.architectures._registry import build_model
from manyheads.data.tensors import Batch
from manyheads.encoders.ensemble import MemberAdapter, MemberLinear
from manyheads.engine.loop import task_losses
from manyheads.errors import InvalidParameterError
from manyheads.testing import make_toy_problem

TOY = make_toy_problem(32, task_types=("binary", "multiclass", "regression", "multilabel"))
SMALL = {"hidden": [16], "tower": [8]}


def ensemble(k: int, encoder: str = "tabular", seed: int = 0, **options: object) -> MTLModel:
    torch.manual_seed(seed)
    encoder_options = {"ensemble": k, **options}
    opts = {**SMALL, "encoder": encoder, "encoder_options": encoder_options}
    return build_model("hps", TOY.spec, TOY.fitted_tasks, opts)


@pytest.mark.parametrize("encoder", ["tabular", "tabular_embed"])
def test_one_member_is_the_plain_model(encoder: str) -> None:
    torch.manual_seed(0)
    plain = build_model("hps", TOY.spec, TOY.fitted_tasks, {**SMALL, "encoder": encoder})
    one = ensemble(1, encoder)
    assert plain.state_dict().keys() == one.state_dict().keys()
    for key, value in plain.state_dict().items():
        assert torch.equal(value, one.state_dict()[key]), key
    for name, out in plain(TOY.x).items():
        assert torch.equal(out, one(TOY.x)[name])


@pytest.mark.parametrize("encoder", ["tabular", "tabular_embed"])
def test_members_give_k_rows_in_training_and_one_in_evaluation(encoder: str) -> None:
    model = ensemble(3, encoder)
    n = TOY.n_rows
    assert model.input(TOY.x).shape == (3 * n, model.input.out_dim)
    widths = {"binary": (), "multiclass": (3,), "regression": (), "multilabel": (3,)}
    assert {t: tuple(o.shape) for t, o in model(TOY.x).items()} == {
        t: (3 * n, *w) for t, w in widths.items()
    }
    model.eval()
    assert {t: tuple(o.shape) for t, o in model(TOY.x).items()} == {
        t: (n, *w) for t, w in widths.items()
    }


def test_evaluation_averages_the_members_probabilities_and_values() -> None:
    model = ensemble(4)
    members = {t: o.reshape(4, TOY.n_rows, *o.shape[1:]) for t, o in model(TOY.x).items()}
    model.eval()
    mean = model(TOY.x)
    for task in ("binary", "multilabel"):
        expected = torch.sigmoid(members[task]).mean(0)
        torch.testing.assert_close(torch.sigmoid(mean[task]), expected)
    expected = torch.softmax(members["multiclass"], -1).mean(0)
    torch.testing.assert_close(torch.softmax(mean["multiclass"], -1), expected)
    torch.testing.assert_close(mean["regression"], members["regression"].mean(0))


def test_members_differ_after_initialisation() -> None:
    model = ensemble(4)
    adapter = model.input.members
    assert isinstance(adapter, MemberAdapter)
    assert len({tuple(r.tolist()) for r in adapter.weight}) == 4
    output = model.towers.outputs["binary"]
    assert isinstance(output, MemberLinear)
    assert not torch.equal(output.weight[0], output.weight[1])
    rows = model(TOY.x)["binary"].reshape(4, -1)
    assert all(not torch.allclose(rows[0], rows[i]) for i in (1, 2, 3))


def test_the_training_loss_is_the_mean_of_the_members_losses() -> None:
    model = ensemble(3)
    outputs = model(TOY.x)
    batch = Batch(TOY.x, TOY.y, TOY.mask)
    losses = task_losses(outputs, batch, TOY.fitted_tasks)
    n = TOY.n_rows
    per_member = torch.stack(
        [TOY.loss({t: o[i * n : (i + 1) * n] for t, o in outputs.items()}) for i in range(3)]
    )  # [k, T]
    torch.testing.assert_close(losses, per_member.mean(0))


def test_an_ensemble_of_zero_members_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"'ensemble' option of the 'tabular' enc"):
        ensemble(0)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.lognormal(0, 2, 400), "c": rng.choice(["a", "b", "c"], 400)})
    df["y"] = (df.x > 1).astype(int)
    df["z"] = np.log(df.x) + (df.c == "a")
    options = {"numeric_scaling": "quantile", "ensemble": 3}
    run = mh.fit(
        df,
        tasks=[mh.Task("y", type="binary"), mh.Task("z", type="regression")],
        model_options={"encoder": "tabular_embed", "encoder_options": options, "hidden": [8]},
        epochs=2,
        batch_size=64,
        output=tmp_path / "run",
    )
    loaded = mh.load(tmp_path / "run")
    pd.testing.assert_frame_equal(run.predict(df), loaded.predict(df))
    saved = json.dumps(json.loads((tmp_path / "run" / "model.json").read_text()))
    assert '"scaling_values": [[' in saved
    assert '"edges": [[' in saved
    assert '"ensemble": 3' in saved
