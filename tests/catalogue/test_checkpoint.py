"""Catalogue: a damaged checkpoint is refused by name (issue 15, section 4).

Each case damages the checkpoint of a run interrupted after its first epoch (``checkpoint.json``
or its safetensors file) and resumes: exit 2, no traceback, the damaged file named, nothing
loaded or rewritten (the user's and the run's files kept byte for byte), nothing finished.
Checkpoints are safetensors + JSON and never pickles: a pickle in place of the tensors file is
refused like any other garbage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
)
from tests.catalogue.test_resume import interrupted, interrupted_template  # noqa: F401

JSON = "checkpoint.json"
TENSORS = "checkpoint-00001.safetensors"


def _meta(run_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir / JSON).read_text())
    return data


def _set_meta(**changes: object) -> Callable[[Path], str]:
    def edit(run_dir: Path) -> str:
        meta = _meta(run_dir)
        for key, value in changes.items():
            if value is _DROP:
                del meta[key]
            else:
                meta[key] = value
        (run_dir / JSON).write_text(json.dumps(meta))
        return JSON

    return edit


_DROP = object()


def _write_json(text: bytes) -> Callable[[Path], str]:
    def edit(run_dir: Path) -> str:
        (run_dir / JSON).write_bytes(text)
        return JSON

    return edit


def _truncate(name: str, keep: float) -> Callable[[Path], str]:
    def edit(run_dir: Path) -> str:
        data = (run_dir / name).read_bytes()
        (run_dir / name).write_bytes(data[: int(len(data) * keep)])
        return name

    return edit


def _tensors_bytes(data: bytes) -> Callable[[Path], str]:
    def edit(run_dir: Path) -> str:
        (run_dir / TENSORS).write_bytes(data)
        return TENSORS

    return edit


def _pickle(run_dir: Path) -> str:
    torch.save({"model.x": torch.zeros(2)}, run_dir / TENSORS)
    return TENSORS


def _huge_header(run_dir: Path) -> str:
    header = json.dumps(
        {"model.x": {"dtype": "F32", "shape": [200000, 200000], "data_offsets": [0, 16 * 10**10]}}
    ).encode()
    (run_dir / TENSORS).write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 16)
    return TENSORS


def _tensors(change: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path], str]:
    def edit(run_dir: Path) -> str:
        tensors = load_file(str(run_dir / TENSORS))
        change(tensors)
        save_file(tensors, str(run_dir / TENSORS))
        return TENSORS

    return edit


def _first(tensors: dict[str, torch.Tensor], prefix: str, *, dims: int = 1) -> str:
    return next(k for k, v in tensors.items() if k.startswith(prefix) and v.dim() >= dims)


def _add(name: str) -> Callable[[dict[str, torch.Tensor]], None]:
    return lambda t: t.__setitem__(name, torch.zeros(3))


def _drop_model(t: dict[str, torch.Tensor]) -> None:
    del t[_first(t, "model.")]


def _reshape(prefix: str) -> Callable[[dict[str, torch.Tensor]], None]:
    def change(t: dict[str, torch.Tensor]) -> None:
        key = _first(t, prefix)
        t[key] = torch.zeros(t[key].numel() + 1)

    return change


def _retype(t: dict[str, torch.Tensor]) -> None:
    key = _first(t, "model.")
    t[key] = t[key].to(torch.float64)


def _rng(t: dict[str, torch.Tensor]) -> None:
    t["rng.torch"] = t["rng.torch"][:100].clone()


def _optim_index(t: dict[str, torch.Tensor]) -> None:
    key = _first(t, "optim.")
    _, _, rest = key.split(".", 2)
    t[f"optim.999.{rest}"] = t.pop(key)


def _drop_param_group(run_dir: Path) -> str:
    meta = _meta(run_dir)
    optimizer = meta["optimizer"]
    assert isinstance(optimizer, dict)
    optimizer["param_groups"] = optimizer["param_groups"][:-1]
    (run_dir / JSON).write_text(json.dumps(meta))
    return JSON


def _tensors_dir(run_dir: Path) -> str:
    (run_dir / TENSORS).unlink()
    (run_dir / TENSORS).mkdir()
    return TENSORS


def _tensors_missing(run_dir: Path) -> str:
    (run_dir / TENSORS).unlink()
    return TENSORS


DAMAGED = [
    pytest.param(_truncate(JSON, 0.5), id="json-truncated"),
    pytest.param(_write_json(b"\xff\xfe\x00garbage"), id="json-not-utf8"),
    pytest.param(_write_json(b"{not json"), id="json-invalid"),
    pytest.param(_write_json(b"[]"), id="json-a-list"),
    pytest.param(_write_json(b""), id="json-empty"),
    pytest.param(_set_meta(epoch=_DROP), id="json-epoch-missing"),
    pytest.param(_set_meta(optimizer=_DROP), id="json-optimizer-missing"),
    pytest.param(_set_meta(fingerprint=_DROP), id="json-fingerprint-missing-older-version"),
    pytest.param(_set_meta(epoch="one"), id="json-epoch-a-string"),
    pytest.param(_set_meta(epoch=0), id="json-epoch-zero"),
    pytest.param(_set_meta(step=-5), id="json-step-negative"),
    pytest.param(_set_meta(history={}), id="json-history-not-a-list"),
    pytest.param(_set_meta(history=["epoch 1"]), id="json-history-of-strings"),
    pytest.param(_set_meta(history=[]), id="json-history-shorter-than-epochs"),
    pytest.param(_set_meta(best_epoch=7), id="json-best-epoch-after-the-last"),
    pytest.param(_set_meta(optimizer={"param_groups": 3}), id="json-optimizer-garbled"),
    pytest.param(_set_meta(tensors_file="../outside.safetensors"), id="json-path-outside-run"),
    pytest.param(_set_meta(tensors_file="/etc/passwd"), id="json-absolute-path"),
    pytest.param(_set_meta(task_best={"score": {}}), id="json-task-best-for-another-model"),
    pytest.param(_drop_param_group, id="json-optimizer-group-removed"),
    pytest.param(_tensors_missing, id="tensors-file-missing"),
    pytest.param(_tensors_dir, id="tensors-file-a-folder"),
    pytest.param(_truncate(TENSORS, 0.5), id="tensors-truncated"),
    pytest.param(_truncate(TENSORS, 0.0), id="tensors-empty"),
    pytest.param(
        _tensors_bytes(b"\x13\x00\x00\x00\x00\x00\x00\x00{garbled json!}x"), id="tensors-garbled"
    ),
    pytest.param(_pickle, id="tensors-a-pickle"),
    pytest.param(_huge_header, id="tensors-header-asks-for-160-GB"),
    pytest.param(_tensors(_add("evil.payload")), id="tensors-extra-unknown-group"),
    pytest.param(_tensors(_add("model.extra_weight")), id="tensors-extra-model-weight"),
    pytest.param(_tensors(_add("optim.x.exp_avg")), id="tensors-optimizer-name-garbled"),
    pytest.param(_tensors(_drop_model), id="tensors-model-weight-missing"),
    pytest.param(_tensors(_reshape("model.")), id="tensors-model-wrong-shape"),
    pytest.param(_tensors(_reshape("best.")), id="tensors-best-model-wrong-shape"),
    pytest.param(_tensors(_reshape("optim.")), id="tensors-optimizer-wrong-shape"),
    pytest.param(_tensors(_retype), id="tensors-model-wrong-dtype"),
    pytest.param(_tensors(_rng), id="tensors-rng-state-cut"),
    pytest.param(_tensors(_optim_index), id="tensors-optimizer-unknown-parameter"),
]


@pytest.mark.parametrize("damage", DAMAGED)
def test_a_damaged_checkpoint_is_refused_by_name(
    run: Run,
    interrupted: Path,  # noqa: F811
    damage: Callable[[Path], str],
) -> None:
    name = damage(interrupted / "run")
    before = snapshot(interrupted)
    outcome = run("train", "cfg.yaml", "--resume", "--quiet", cwd=interrupted)
    assert_refused(outcome, str(Path("run") / name), "--overwrite")
    assert_kept(before, interrupted)
    assert_nothing_finished(interrupted / "run")
    assert not (interrupted / "outside.safetensors").exists()


def test_the_undamaged_checkpoint_resumes(run: Run, interrupted: Path) -> None:  # noqa: F811
    """The cases above fail because of their damage: the same copy resumes untouched."""
    outcome = run("train", "cfg.yaml", "--resume", "--quiet", cwd=interrupted)
    assert outcome.code == 0, outcome.stderr
    assert (interrupted / "run" / "metrics.json").exists()
    assert not list((interrupted / "run").glob("checkpoint*"))
