"""``cli/main.py`` maps what reaches it: a closed pipe, an OSError, an interrupt; never a
traceback for them."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

import pytest

import manyheads.cli.ls
from manyheads.cli.main import main


def _raising(error: BaseException) -> object:
    def run(args: argparse.Namespace) -> int:
        raise error

    return run


@pytest.mark.parametrize(
    ("error", "code", "said"),
    [
        pytest.param(BrokenPipeError(32, "Broken pipe"), 141, "", id="broken-pipe"),
        pytest.param(
            PermissionError(13, "Permission denied", "run/eval-test.json"),
            2,
            "manyheads ls: error: run/eval-test.json: Permission denied.",
            id="permission-denied",
        ),
        pytest.param(
            IsADirectoryError(21, "Is a directory", "out.csv"),
            2,
            "out.csv: Is a directory.",
            id="is-a-directory",
        ),
        pytest.param(OSError(28, "No space left on device"), 2, "No space left", id="no-space"),
        pytest.param(KeyboardInterrupt(), 130, "manyheads ls: interrupted", id="interrupt"),
    ],
)
def test_main_maps_what_reaches_it(
    error: BaseException,
    code: int,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(manyheads.cli.ls, "run", _raising(error))
    assert main(["ls"]) == code
    err = capsys.readouterr().err
    assert said in err
    if not said:
        assert err == ""


def test_a_reader_that_leaves_gets_no_traceback() -> None:
    """``manyheads ls | head -c0``: the pipe is closed before manyheads writes."""
    read, write = os.pipe()
    os.close(read)
    done = subprocess.run(
        [sys.executable, "-m", "manyheads.cli.main", "ls"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    os.close(write)
    assert "Traceback" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 141, done.stderr


@pytest.mark.parametrize("world_size", ["2", "8"])
def test_a_one_process_verb_under_torchrun_is_refused_before_any_work(
    world_size: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``torchrun --nproc_per_node 2 -m manyheads compare ...`` would run the whole comparison
    on every rank, each writing the same files."""
    ran: list[bool] = []
    monkeypatch.setattr(manyheads.cli.ls, "run", lambda args: ran.append(True) or 0)
    monkeypatch.setenv("WORLD_SIZE", world_size)
    assert main(["ls"]) == 2
    assert not ran
    assert capsys.readouterr().err == (
        f"manyheads ls: error: 'manyheads ls' runs in one process, and this process runs under "
        f"torchrun (WORLD_SIZE={world_size}): every rank would do the same work and write the "
        "same files. Run 'manyheads ls' without torchrun; 'manyheads train' is the "
        "data-parallel verb.\n"
    )


def test_a_one_process_world_is_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "1")  # torchrun --nproc_per_node 1
    monkeypatch.setattr(manyheads.cli.ls, "run", lambda args: 0)
    assert main(["ls"]) == 0
