"""manyheads._files: the run marker, --overwrite that removes only a run's own files, atomic
writes, and OSError -> DataError; plus the CLI paths that write (train, predict, eval)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pandas as pd
import pytest
from tests.catalogue._harness import assert_kept, snapshot, toy_rows, write_project

import manyheads as mh
from manyheads._files import (
    RUN_FILES,
    RUN_MARKER,
    atomic_write,
    atomic_write_text,
    check_output_dir,
    check_output_file,
    clear_owned,
    os_error,
    write_marker,
)
from manyheads.cli.main import main
from manyheads.errors import DataError, InvalidParameterError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_run_writes_its_marker_naming_the_files_it_writes(project: Path) -> None:
    assert main(["train", "cfg.yaml", "--quiet"]) == 0
    marker = json.loads((project / "runs" / "r" / RUN_MARKER).read_text())
    assert marker["tool"] == "manyheads"
    assert marker["kind"] == "run"
    assert marker["files"] == list(RUN_FILES)
    written = {p.name for p in (project / "runs" / "r").iterdir()}
    import fnmatch

    assert all(any(fnmatch.fnmatchcase(n, pat) for pat in RUN_FILES) for n in written), written


def test_overwrite_replaces_a_run_and_keeps_the_users_files_in_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "cfg.yaml", "--quiet"]) == 0
    run = project / "runs" / "r"
    (run / "my-notes.md").write_text("what I saw\n")
    (run / "plots").mkdir()
    (run / "plots" / "loss.png").write_bytes(b"\x89PNG")
    (run / "eval-old.json").write_text("{}")  # a file a run writes: removed
    before = snapshot(project)
    first = (run / "metrics.json").read_text()
    assert main(["train", "cfg.yaml", "--quiet"]) == 2
    assert "already holds a finished run" in capsys.readouterr().err
    assert main(["train", "cfg.yaml", "--quiet", "--overwrite", "train.seed=3"]) == 0
    kept = {k: v for k, v in before.items() if not k.startswith("runs/r/") or "my-notes" in k}
    kept["runs/r/plots/loss.png"] = before["runs/r/plots/loss.png"]
    assert_kept(kept, project)
    assert not (run / "eval-old.json").exists()
    assert json.loads((run / "metrics.json").read_text())["seed"] == 3
    assert (run / "metrics.json").read_text() != first


def test_the_data_loss_case_output_dot_overwrite_keeps_everything(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(project)
    assert main(["train", "cfg.yaml", "output=.", "--overwrite"]) == 2
    assert "working directory" in capsys.readouterr().err
    assert snapshot(project) == before


def test_the_data_loss_case_user_folder_overwrite_keeps_everything(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "mydata").mkdir()
    (project / "mydata" / "survey.csv").write_text("a,b\n1,2\n")
    before = snapshot(project)
    assert main(["train", "cfg.yaml", "output=mydata", "--overwrite"]) == 2
    assert "no .manyheads-run marker" in capsys.readouterr().err
    assert snapshot(project) == before


def test_an_empty_existing_folder_is_a_fine_output(project: Path) -> None:
    (project / "empty").mkdir()
    assert main(["train", "cfg.yaml", "output=empty", "--quiet"]) == 0
    assert (project / "empty" / "metrics.json").exists()


def test_resume_continues_an_unmarked_run_of_an_older_version(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "checkpoint.json").write_text("{}")
    with pytest.raises(InvalidParameterError, match=r"no \.manyheads-run marker"):
        check_output_dir(tmp_path / "old")
    allow = lambda d: (d / "checkpoint.json").exists()  # noqa: E731
    assert check_output_dir(tmp_path / "old", allow=allow) == tmp_path / "old"


def test_clear_owned_removes_only_run_files_and_only_in_a_marked_folder(tmp_path: Path) -> None:
    names = ("config.yaml", "model.json", "checkpoint-3.safetensors", "notes.txt", "x.csv")
    for name in (*names, "model.onnx", "model.onnx.json", "other.onnx"):
        (tmp_path / name).write_text(name)
    (tmp_path / "events.out.tfevents.1.host").write_text("e")
    assert clear_owned(tmp_path) == []  # no marker: nothing is touched
    assert len(list(tmp_path.iterdir())) == 9
    write_marker(tmp_path)
    removed = clear_owned(tmp_path)
    assert sorted(removed) == [
        "checkpoint-3.safetensors",
        "config.yaml",
        "events.out.tfevents.1.host",
        "model.json",
        "model.onnx",  # an exported graph of the old weights goes with them
        "model.onnx.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        RUN_MARKER,
        "notes.txt",
        "other.onnx",
        "x.csv",
    ]


def test_atomic_write_leaves_the_old_file_on_error(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    out.write_text("old")

    def killed() -> None:
        with atomic_write(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        killed()
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_atomic_write_maps_os_errors_to_a_data_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nodir/x.json: cannot write: no such file"):
        atomic_write_text(tmp_path / "nodir" / "x.json", "{}")


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied. Choose a folder"),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), "is a directory. Name a file"),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory"), "not a directory. A part of"),
        (OSError(errno.ENOSPC, "No space left on device"), "no space left on device. Free some"),
    ],
)
def test_os_errors_name_the_path_and_the_fix(error: OSError, expected: str) -> None:
    message = str(os_error(error, "runs/r/model.json", "write"))
    assert message.startswith("runs/r/model.json: cannot write: ")
    assert expected in message


def test_an_owned_output_file_is_replaced_without_overwrite(tmp_path: Path) -> None:
    (tmp_path / "eval-test.json").write_text("{}")
    with pytest.raises(DataError, match=r"already exists\. Pass --overwrite"):
        check_output_file(tmp_path / "eval-test.json", overwrite=False)
    check_output_file(tmp_path / "eval-test.json", overwrite=False, owned=True)


# -- predict and eval on a real run ------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "run"
    mh.fit(toy_rows(), tasks=[mh.Task("y", type="binary")], epochs=1, batch_size=16, output=out)
    return out


def test_predict_overwrite_replaces_and_jsonl_parquet_are_written(
    trained: Path, tmp_path: Path
) -> None:
    toy_rows(10).to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "pred.csv"
    out.write_text("mine\n")
    assert main(["predict", str(trained), str(tmp_path / "rows.csv"), "-o", str(out)]) == 2
    assert out.read_text() == "mine\n"
    argv = ["predict", str(trained), str(tmp_path / "rows.csv"), "-o", str(out), "--overwrite"]
    assert main(argv) == 0
    assert len(pd.read_csv(out)) == 10
    for name in ("pred.jsonl", "pred.PARQUET"):
        assert (
            main(["predict", str(trained), str(tmp_path / "rows.csv"), "-o", str(tmp_path / name)])
            == 0
        )
    assert len(pd.read_json(tmp_path / "pred.jsonl", lines=True)) == 10
    assert len(pd.read_parquet(tmp_path / "pred.PARQUET")) == 10
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_eval_rewrites_its_own_file_and_says_when_it_cannot_save(
    trained: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    toy_rows(10).to_csv(tmp_path / "rows.csv", index=False)
    for _ in range(2):  # eval-rows.json is manyheads's own file: replaced without --overwrite
        assert main(["eval", str(trained), str(tmp_path / "rows.csv")]) == 0
    assert json.loads((trained / "eval-rows.json").read_text())["tasks"]["y"]["n"] == 10
    capsys.readouterr()
    # a read-only run folder (simulated: the tests may run as root, who can write anywhere)
    monkeypatch.setattr("manyheads._output_file.unwritable", lambda _folder: "not writable")
    assert main(["eval", str(trained), str(tmp_path / "rows.csv")]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["tasks"]["y"]["n"] == 10
    for said in ("not saved", "eval-rows.json", "-o FILE"):
        assert said in out.err
    assert "Traceback" not in out.err


def test_saving_a_bundle_below_a_file_names_the_folder(trained: Path, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n")
    with pytest.raises(DataError, match=r"notes\.txt/bundle: cannot write the model bundle"):
        mh.load(trained).save(tmp_path / "notes.txt" / "bundle")
    assert (tmp_path / "notes.txt").read_text() == "mine\n"


def test_compare_marks_its_folder_and_overwrite_keeps_a_users_file(project: Path) -> None:
    argv = ["compare", "cfg.yaml", "--architectures", "hps", "--methods", "ew", "--seeds", "1"]
    assert main([*argv, "-o", "cmp", "--quiet"]) == 0
    assert (project / "cmp" / ".manyheads-compare").exists()
    assert (project / "cmp" / "hps-ew-seed0" / RUN_MARKER).exists()
    (project / "cmp" / "mine.txt").write_text("keep\n")
    assert main([*argv, "-o", "cmp", "--quiet", "--overwrite"]) == 0
    assert (project / "cmp" / "mine.txt").read_text() == "keep\n"
    assert (project / "cmp" / "comparison.json").exists()


def test_a_write_error_during_training_names_the_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from manyheads.engine import _checkpointing

    def full(*_: object, **__: object) -> None:
        path = project / "runs" / "r" / "checkpoint-1.safetensors"
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(_checkpointing, "save_checkpoint", full)
    assert main(["train", "cfg.yaml", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "checkpoint-1.safetensors: cannot write the run's file: no space left" in err
    assert "Traceback" not in err
    assert not (project / "runs" / "r" / "metrics.json").exists()
