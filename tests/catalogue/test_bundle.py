"""Catalogue: corrupted or edited model bundles on ``predict`` and ``eval``.

A tiny run is trained once per module; each case copies it, damages one file of the bundle and
expects exit 2 naming the file (and key or tensor), no traceback, no output written and the
bundle's files left as they were.
"""

from __future__ import annotations

import json
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.catalogue._harness import Run, assert_kept, assert_refused, snapshot

Edit = Callable[[Path], None]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run (1 epoch, 200 rows) and its test file, trained once per module."""
    from manyheads.cli.main import main

    root = tmp_path_factory.mktemp("bundle")
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40, 5, n).round(1),
            "colour": rng.choice(["red", "blue", "green"], n),
            "y": rng.integers(0, 2, n),
            "r": rng.normal(size=n).round(3),
        }
    )
    frame.to_csv(root / "train.csv", index=False)
    frame.head(40).to_csv(root / "test.csv", index=False)
    (root / "cfg.yaml").write_text(
        f"data: {{train: {root / 'train.csv'}, test: {root / 'test.csv'}}}\n"
        "tasks: {y: {type: binary}, r: {type: regression}}\n"
        "model: {architecture: hps, hidden: [8]}\n"
        "train: {epochs: 1, batch_size: 64}\n"
        f"output: {root / 'run'}\n"
    )
    assert main(["train", str(root / "cfg.yaml"), "--quiet"]) == 0
    return root


def _json(edit: Callable[[dict[str, object]], object]) -> Edit:
    def apply(run: Path) -> None:
        path = run / "model.json"
        meta = json.loads(path.read_text())
        result = edit(meta)
        path.write_text(json.dumps(meta if result is None else result, indent=1))

    return apply


def _text(change: Callable[[str], str]) -> Edit:
    def apply(run: Path) -> None:
        path = run / "model.json"
        path.write_text(change(path.read_text()))

    return apply


def _truncate(fraction: float) -> Edit:
    def apply(run: Path) -> None:
        path = run / "model.safetensors"
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])

    return apply


def _tensors(change: Callable[[dict[str, object]], None]) -> Edit:
    """Rewrite model.safetensors after ``change`` edits its name -> tensor dict."""

    def apply(run: Path) -> None:
        from safetensors.torch import load_file, save_file

        path = run / "model.safetensors"
        tensors = load_file(str(path))
        change(tensors)  # type: ignore[arg-type]
        save_file(tensors, str(path))

    return apply


def _header(change: Callable[[dict[str, dict[str, object]]], None]) -> Edit:
    """Edit model.safetensors's JSON header in place, keeping the tensor bytes."""

    def apply(run: Path) -> None:
        path = run / "model.safetensors"
        data = path.read_bytes()
        (n,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + n])
        change(header)
        raw = json.dumps(header).encode()
        path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])

    return apply


def _add_tensor(tensors: dict[str, object]) -> None:
    import torch

    tensors["towers.outputs.z.bias"] = torch.zeros(1)


def _drop_tensor(tensors: dict[str, object]) -> None:
    del tensors["towers.outputs.y.bias"]


def _grow_offsets(header: dict[str, dict[str, object]]) -> None:
    header["bottom.net.0.weight"]["shape"] = [8, 1000]


def _del(*keys: str) -> Callable[[dict[str, object]], None]:
    def edit(meta: dict[str, object]) -> None:
        owner: dict[str, object] = meta
        for key in keys[:-1]:
            owner = owner[key]  # type: ignore[assignment]
        del owner[keys[-1]]

    return edit


def _set(value: object, *keys: str) -> Callable[[dict[str, object]], None]:
    def edit(meta: dict[str, object]) -> None:
        owner: dict[str, object] = meta
        for key in keys[:-1]:
            owner = owner[key]  # type: ignore[assignment]
        owner[keys[-1]] = value

    return edit


def _outside(run: Path) -> None:
    evil = run.parent / "evil"
    evil.mkdir(exist_ok=True)
    (evil / "pytorch_model.bin").write_bytes(b"not a pickle you want to load")
    (evil / "config.json").write_text("{}")
    (evil / "tokenizer.json").write_text("{}")
    _json(_set({"path": "../evil"}, "options", "encoder_options"))(run)


def _not_utf8(run: Path) -> None:
    path = run / "model.json"
    path.write_bytes(path.read_bytes().replace(b'"hps"', b'"hp\xe9"'))


def _no_weights(run: Path) -> None:
    (run / "model.safetensors").unlink()


def _bad_metrics(run: Path) -> None:
    (run / "metrics.json").write_text('{"split": "test", ')


#: (what is wrong, how to do it, what the message must name)
CORRUPTIONS: list[tuple[str, Edit, tuple[str, ...]]] = [
    ("safetensors-truncated-half", _truncate(0.5), ("model.safetensors", "truncated")),
    ("safetensors-truncated-header", _truncate(0.01), ("model.safetensors",)),
    ("safetensors-empty", _truncate(0.0), ("model.safetensors",)),
    ("safetensors-header-claims-more-bytes", _header(_grow_offsets), ("bottom.net.0.weight",)),
    ("safetensors-extra-tensor", _tensors(_add_tensor), ("model.safetensors", "towers.outputs.z")),
    ("safetensors-missing-tensor", _tensors(_drop_tensor), ("towers.outputs.y.bias",)),
    ("safetensors-missing", _no_weights, ("model.safetensors",)),
    ("json-invalid", _text(lambda t: t[: len(t) // 2]), ("model.json", "line", "invalid JSON")),
    ("json-empty-list", _json(lambda m: []), ("model.json", "list")),
    ("json-not-utf8", _not_utf8, ("model.json", "UTF-8")),
    ("json-missing-tasks", _json(_del("tasks")), ("model.json", "'tasks'")),
    ("json-tasks-empty", _json(_set([], "tasks")), ("model.json", "'tasks'")),
    ("json-task-not-object", _json(_set([[]], "tasks")), ("model.json", "tasks[0]")),
    (
        "json-missing-numeric",
        _json(_del("preprocessor", "numeric")),
        ("model.json", "preprocessor.numeric"),
    ),
    (
        "json-missing-task-state",
        _json(_del("preprocessor", "task_states", "r")),
        ("model.json", "task_states.r"),
    ),
    (
        "json-std-infinity",
        _text(lambda t: t.replace('"std": 18', '"std": Infinity', 1)),
        ("model.json", "Infinity"),
    ),
    (
        "json-std-zero",
        _json(_set(0, "preprocessor", "numeric", "age", "std")),
        ("model.json", "preprocessor.numeric.age.std"),
    ),
    (
        "json-hidden-shape-edit",
        _json(_set([9], "options", "hidden")),
        ("model.safetensors", "bottom.net.0.weight", "[8, 10]", "[9, 10]"),
    ),
    (
        "json-vocabulary-edit",
        _json(_set(["blue", "red"], "preprocessor", "categorical", "colour")),
        ("model.safetensors", "input.embedding.weight"),
    ),
    (
        "json-144-gb-tensor",
        _json(_set([3_600_000_000], "options", "hidden")),
        ("model.safetensors", "bottom.net.0.weight", "3600000000"),
    ),
    (
        "json-unknown-architecture",
        _json(_set("nope", "architecture")),
        ("model.json", "nope"),
    ),
    (
        "json-encoder-path-outside-bundle",
        _outside,
        ("model.json", "options.encoder_options.path", "outside the bundle"),
    ),
    ("metrics-json-invalid", _bad_metrics, ("metrics.json",)),
]


@pytest.mark.parametrize("verb", ["predict", "eval"])
@pytest.mark.parametrize(("edit", "names"), [pytest.param(e, n, id=i) for i, e, n in CORRUPTIONS])
def test_a_damaged_bundle_is_refused_by_name(
    run: Run, trained: Path, tmp_path: Path, verb: str, edit: Edit, names: tuple[str, ...]
) -> None:
    shutil.copytree(trained / "run", tmp_path / "run")
    shutil.copy(trained / "test.csv", tmp_path / "test.csv")
    edit(tmp_path / "run")
    before = snapshot(tmp_path)
    if verb == "predict":
        outcome = run("predict", "run", "test.csv", "-o", "out.csv", cwd=tmp_path)
    else:
        outcome = run("eval", "run", "test.csv", cwd=tmp_path)
    assert_refused(outcome, *names)
    assert_kept(before, tmp_path)
    assert snapshot(tmp_path).keys() == before.keys(), "an output was written"
