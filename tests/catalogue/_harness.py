"""Helpers of the bad-input catalogue: each case runs ``manyheads`` in-process.

The contract (README, docs/reliability.md): exit code 2, no ``Traceback``, the place at fault
(file, line, column, key) named in the message, and no output that looks finished or half
written. One file per group (config, data, predict, bundle, checkpoint, output, resume, crawler);
each case is one ``pytest.param`` with an id that says what is wrong.
"""

from __future__ import annotations

import hashlib
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

#: Files whose presence makes a run directory look finished.
FINISHED_MARKERS: tuple[str, ...] = ("metrics.json", "model.json", "model.safetensors")


@dataclass(frozen=True)
class Outcome:
    """What one CLI call returned and printed."""

    code: int
    stdout: str
    stderr: str


def call_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    from manyheads.cli.main import main

    capsys.readouterr()
    trace = ""
    with warnings.catch_warnings():
        # pytest turns warnings into errors; the CLI prints a user's warnings instead.
        warnings.simplefilter("default")
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusals
            code = exc.code if isinstance(exc.code, int) else 2
        except BaseException:  # what a user would see as a traceback
            code = 1
            trace = "Traceback (most recent call last):\n" + traceback.format_exc()
    out = capsys.readouterr()
    return Outcome(code, out.out, out.err + trace)


#: ``run("train", "cfg.yaml", cwd=tmp_path)`` -> :class:`Outcome` (the ``run`` fixture).
Run = Callable[..., Outcome]


def assert_refused(outcome: Outcome, *names: str) -> None:
    """Exit 2, no traceback, and every ``name`` (file, key, line, column) in the message."""
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert outcome.code == 2, (outcome.code, outcome.stderr)
    for name in names:
        assert name in outcome.stderr, (name, outcome.stderr)


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``root`` (a user's files, byte for byte)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def assert_kept(before: dict[str, str], root: Path) -> None:
    """Every file in ``before`` is still below ``root``, unchanged."""
    after = snapshot(root)
    lost = {k for k in before if k not in after}
    changed = {k for k in before if k in after and after[k] != before[k]}
    assert not lost, f"lost {sorted(lost)}"
    assert not changed, f"changed {sorted(changed)}"


def assert_nothing_finished(directory: Path) -> None:
    """No file that makes ``directory`` look like a finished run or output."""
    if not directory.exists():
        return
    found = [m for m in FINISHED_MARKERS if (directory / m).exists()]
    assert not found, f"{directory} looks finished: {found}"


#: A user's run config: a tiny binary task read from ``data/train.csv``, written to ``runs/r``.
PROJECT_CONFIG = """\
data: {train: data/train.csv}
tasks:
  y: {type: binary}
train: {epochs: 1, batch_size: 16}
output: runs/r
"""


def toy_rows(n: int = 48) -> pd.DataFrame:
    """``n`` rows of one number ``x`` and its sign ``y`` (0/1), the same every time."""
    x = [((i * 37) % 11 - 5) / 5 for i in range(n)]
    return pd.DataFrame({"x": x, "y": [int(v > 0) for v in x]})


def write_project(root: Path) -> Path:
    """A user's project in ``root``: ``cfg.yaml`` (:data:`PROJECT_CONFIG`), ``data/train.csv``
    (:func:`toy_rows`) and an unrelated ``src/main.py`` that must survive every case."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "src").mkdir(exist_ok=True)
    (root / "cfg.yaml").write_text(PROJECT_CONFIG)
    toy_rows().to_csv(root / "data" / "train.csv", index=False)
    (root / "src" / "main.py").write_text("VALUE = 1\n")
    return root
