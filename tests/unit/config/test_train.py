"""TrainSettings: every range checked, every problem reported at once, the device checked."""

from __future__ import annotations

import math

import pytest
import torch

from manyheads.config.train import TrainSettings
from manyheads.errors import InvalidParameterError


@pytest.mark.parametrize(
    ("key", "bad", "good"),
    [
        ("epochs", [0, -1, 2.5, True], [1, 100]),
        ("batch_size", [0, 1.5], [1, None]),  # None: chosen by task
        ("eval_batch_size", [0], [1]),
        ("lr", [0.0, -1e-3, math.inf, math.nan], [1e-3, 10.0]),
        ("lr_shared", [0.0, math.inf], [None, 1e-4]),
        ("weight_decay", [-1e-4, math.inf], [0.0, 0.1]),
        ("momentum", [-0.1, 1.0, math.nan], [0.0, 0.9]),
        ("warmup_epochs", [-2, math.inf], [0, 0.5]),
        ("step_size", [0, 1.5], [1, 10]),
        ("gamma", [-1.0, 0.0, 1.5, math.nan], [0.1, 1.0]),
        ("clip_norm", [-1.0, 0.0, math.inf], [None, 1.0]),
        ("patience", [0, -3], [None, 1]),
        ("seed", [-1, 1.0], [0, 2**40]),
        ("relations_every", [0, -1], [None, 1]),
        ("device", ["tpu9", "cuda:x", "mps:0", 3], ["cpu", "auto"]),
    ],
)
def test_each_setting_has_a_range(key: str, bad: list[object], good: list[object]) -> None:
    for value in bad:
        with pytest.raises(InvalidParameterError, match=rf"The '{key}' setting must be"):
            TrainSettings(**{key: value})  # type: ignore[arg-type]
    for value in good:
        TrainSettings(**{key: value})  # type: ignore[arg-type]


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidParameterError) as info:
        TrainSettings(optimizer="adamx", schedule="cosin", gamma=-1, patience=0)  # type: ignore[arg-type]
    message = str(info.value)
    for key in ("optimizer", "schedule", "gamma", "patience"):
        assert f"The '{key}' setting" in message


def test_check_returns_key_and_message_pairs() -> None:
    assert TrainSettings.check({}) == []
    assert TrainSettings.check({"step_size": 0, "momentum": -1}) == [
        ("momentum", "must be a finite number in [0, 1). Got -1."),
        ("step_size", "must be an int >= 1. Got 0."),
    ]


def test_a_device_this_machine_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    settings = TrainSettings(device="cuda")  # a saved run's settings load anywhere
    assert TrainSettings.check({"device": "cuda"}) == []
    [(key, message)] = TrainSettings.check({"device": "cuda:1"}, hardware=True)
    assert key == "device"
    assert "no CUDA GPU" in message
    with pytest.raises(InvalidParameterError, match=r"The 'device' setting is 'cuda', and this"):
        settings.resolve_device()
    assert TrainSettings(device="auto").resolve_device() == torch.device("cpu")


def test_the_config_layer_imports_neither_the_engine_nor_torch_at_module_level() -> None:
    # reading and checking a config must not need the engine (issue 16 §1), and the settings
    # must not need torch until a device is resolved
    import ast
    from pathlib import Path

    import manyheads.config

    for path in sorted(Path(manyheads.config.__file__).parent.glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = [a.name for n in tree.body if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in tree.body if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.startswith(("manyheads.engine", "torch"))], path.name
