"""The single-process speed options: the multi-tensor optimiser step (default, bit-identical),
``train.fused_optimizer`` and ``train.compile`` (opt-in, same losses to a stated tolerance)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from tests.conftest import CLI

import manyheads as mh
from manyheads.config.train import TrainSettings
from manyheads.engine import _optim
from manyheads.errors import InvalidParameterError

TASKS = [mh.Task("good", type="binary"), mh.Task("score", type="regression")]
INPUTS = {"x": "numeric", "x2": "numeric", "colour": "categorical"}


@pytest.fixture
def frame() -> pd.DataFrame:
    """300 rows of numbers and a category; a binary and a regression label."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    out = pd.DataFrame(
        {"x": x, "x2": rng.normal(size=300), "colour": rng.choice(["r", "g", "b"], size=300)}
    )
    out["good"] = (x + 0.3 * rng.normal(size=300) > 0).astype(int)
    out["score"] = 2.0 * x - out["x2"]
    return out


MMOE = {"n_experts": 2, "expert_hidden": [8], "tower": [4], "norm": "batch"}


def _losses(frame: pd.DataFrame, architecture: str = "mmoe", **train: object) -> list[float]:
    run = mh.fit(
        frame,
        tasks=TASKS,
        inputs=INPUTS,
        architecture=architecture,
        model_options=MMOE if architecture == "mmoe" else {"hidden": [8], "tower": [4]},
        epochs=2,
        batch_size=100,
        optimizer="adam",
        weight_decay=1e-5,
        **train,  # type: ignore[arg-type]
    )
    return [r[f"train_loss/{t.name}"] for r in run.history for t in TASKS]


@pytest.mark.parametrize("optimizer", ["adamw", "adam", "sgd"])
def test_default_step_is_the_multi_tensor_form(optimizer: str) -> None:
    settings = TrainSettings(optimizer=optimizer)
    params = [torch.nn.Parameter(torch.zeros(3))]
    built = _optim.build_optimizer([{"params": params, "lr": 0.1}], settings)
    assert built.defaults["foreach"] is True
    fused = _optim.build_optimizer(
        [{"params": params, "lr": 0.1}], TrainSettings(optimizer=optimizer, fused_optimizer=True)
    )
    assert fused.defaults["fused"] is True


def test_multi_tensor_default_trains_bit_for_bit_as_the_per_tensor_loop(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = _losses(frame)
    monkeypatch.setattr(_optim, "_kernel", lambda _settings: {"foreach": False})
    assert _losses(frame) == default  # exact: the default's recorded numbers do not move


def test_fused_optimizer_trains_to_the_same_losses(frame: pd.DataFrame) -> None:
    default = _losses(frame)
    fused = _losses(frame, fused_optimizer=True)
    assert fused == pytest.approx(default, rel=1e-4)  # last-bit rounding of the fused kernel


@pytest.mark.slow  # inductor compiles C++: ~15 s with its kernel cache warm, ~60 s cold
def test_compile_trains_to_the_same_losses(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch._inductor.config as inductor

    from manyheads.engine._compile import cpp_compiler_problem

    problem = cpp_compiler_problem()
    if problem is not None:  # .ci/services.sh installs g++: in CI this fails instead
        assert os.environ.get("CI") != "true", problem
        pytest.skip(f"no C++ compiler for inductor: {problem}")
    monkeypatch.setattr(inductor, "compile_threads", 1)  # no worker pool to start
    torch._dynamo.reset()
    eager = _losses(frame, "hps")  # hps: the fewest kernels to compile (a few seconds)
    compiled = _losses(frame, "hps", compile=True)
    assert compiled == pytest.approx(eager, rel=1e-3)  # generated kernels round differently


def test_compile_refuses_a_gradient_aggregator(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidParameterError, match=r"The 'compile' setting needs a loss"):
        _losses(frame, compile=True, method="pcgrad")


def test_compile_without_a_cpp_compiler_says_how_to_fix_it(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch._inductor.config as inductor

    monkeypatch.setattr(inductor.cpp, "cxx", ("no-such-compiler-for-manyheads",))
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'compile' setting needs a C\+\+ compiler .* set train\.compile: false",
    ):
        _losses(frame, compile=True)


@pytest.mark.parametrize("key", ["fused_optimizer", "compile"])
def test_speed_switches_must_be_booleans(key: str) -> None:
    with pytest.raises(
        InvalidParameterError, match=rf"The '{key}' setting must be true or false\. Got 'yes'\."
    ):
        TrainSettings(**{key: "yes"})  # type: ignore[arg-type]


def test_cli_refuses_a_non_boolean_switch(
    cli: CLI, tmp_path: Path, census_files: dict[str, Path]
) -> None:
    (tmp_path / "cfg.yaml").write_text(
        f"data: {{train: {census_files['train']}, valid: {census_files['valid']}}}\n"
        "inputs: {age: numeric, sex: categorical}\n"
        "tasks: {income: {type: binary}}\n"
        "train: {epochs: 1, fused_optimizer: 2}\n"
        f"output: {tmp_path / 'run'}\n"
    )
    done = cli("train", str(tmp_path / "cfg.yaml"), "--quiet", cwd=tmp_path)
    assert done.returncode == 2
    assert "'train.fused_optimizer' must be of type bool; got 2 (int)." in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()


def test_fused_optimizer_run_resumes_to_the_uninterrupted_result(
    frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from manyheads.config.load import build_config
    from manyheads.engine import trainer

    frame.to_csv(tmp_path / "rows.csv", index=False)
    raw = {
        "data": {"train": str(tmp_path / "rows.csv")},
        "inputs": INPUTS,
        "tasks": {"good": {"type": "binary"}, "score": {"type": "regression"}},
        "model": {"architecture": "mmoe", **MMOE},
        "train": {"epochs": 3, "batch_size": 64, "optimizer": "adam", "fused_optimizer": True},
    }
    full = mh.train_config(build_config({**raw, "output": str(tmp_path / "full")}))
    original, calls = trainer.train_one_epoch, {"n": 0}

    def dying(*args: object, **kwargs: object) -> object:  # killed during epoch 3
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trainer, "train_one_epoch", dying)
    cut = build_config({**raw, "output": str(tmp_path / "cut")})
    with pytest.raises(KeyboardInterrupt):
        mh.train_config(cut)
    monkeypatch.setattr(trainer, "train_one_epoch", original)
    resumed = mh.train_config(mh.load_config(tmp_path / "cut" / "config.yaml"), resume=True)
    assert resumed.metrics is not None
    assert full.metrics is not None
    assert resumed.metrics["tasks"] == full.metrics["tasks"]  # the fused state resumes exactly


@pytest.mark.parametrize("verb", ["validate", "train"])
def test_compile_with_an_aggregator_is_refused_before_anything_is_written(
    cli: CLI, tmp_path: Path, census_files: dict[str, Path], verb: str
) -> None:
    (tmp_path / "cfg.yaml").write_text(
        f"data: {{train: {census_files['train']}, valid: {census_files['valid']}}}\n"
        "inputs: {age: numeric, sex: categorical}\n"
        "tasks: {income: {type: binary}, never_married: {type: binary}}\n"
        "train: {epochs: 1, method: upgrad, compile: true}\n"
        f"output: {tmp_path / 'run'}\n"
    )
    done = cli(verb, str(tmp_path / "cfg.yaml"), cwd=tmp_path)
    assert done.returncode == 2
    assert "The 'compile' setting needs a loss weighting" in done.stderr
    assert "UPGrad reads the eager autograd graph" in done.stderr
    if verb == "validate":  # named by its key, with every other problem of the config
        assert "'train.compile': The 'compile' setting" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "run").exists()
