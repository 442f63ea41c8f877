"""``--nproc`` and the process group's settings: bad input exits 2 before any worker starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from manyheads.cli.main import main
from manyheads.distributed import LOCAL, Comm
from manyheads.distributed._ddp import _timeout
from manyheads.errors import InvalidParameterError


def _config(tmp_path: Path, output: Path) -> Path:
    (tmp_path / "train.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    path = tmp_path / "cfg.yaml"
    path.write_text(
        f"data: {{train: {tmp_path / 'train.csv'}}}\ntasks: {{y: {{type: binary}}}}\n"
        f"output: {output}\n"
    )
    return path


def test_nproc_below_one_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, tmp_path / "run")
    assert main(["train", str(config), "--nproc", "0"]) == 2
    err = capsys.readouterr().err
    assert "The '--nproc' option of manyheads train must be an int >= 1. Got 0 instead" in err
    assert not (tmp_path / "run").exists()


def test_the_output_folder_is_checked_before_workers_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main(["train", str(_config(tmp_path, mine)), "--nproc", "2"]) == 2
    assert "notes.txt" not in capsys.readouterr().out
    assert (mine / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_nproc_inside_torchrun_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["train", str(_config(tmp_path, tmp_path / "run")), "--nproc", "2"]) == 2
    assert "already runs under torchrun" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["abc", "0", "-5"])
def test_a_bad_timeout_names_the_variable(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MANYHEADS_DDP_TIMEOUT", value)
    with pytest.raises(InvalidParameterError, match=r"MANYHEADS_DDP_TIMEOUT must be a number"):
        _timeout()


def test_shards_are_contiguous_slices_in_rank_order() -> None:
    rows = torch.arange(7)
    shards = [Comm(rank=r, world_size=3).shard(rows) for r in range(3)]
    assert [s.tolist() for s in shards] == [[0, 1, 2], [3, 4], [5, 6]]
    assert LOCAL.shard(rows).tolist() == rows.tolist()
    assert not LOCAL.active
