"""Catalogue, predict group: the files ``predict -o``, ``eval -o`` and ``dataset build -o`` write.

Each bad output path is refused with exit 2, no traceback, the path named (and the accepted
extensions where the type is wrong), before the model or the data is read; a user's files stay
byte for byte and nothing is added.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import manyheads as mh
from tests.catalogue._harness import Run, assert_kept, assert_refused, snapshot


def _frame(n: int = 48) -> pd.DataFrame:
    x = [((i * 37) % 11 - 5) / 5 for i in range(n)]
    return pd.DataFrame({"x": x, "y": [int(v > 0) for v in x]})


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished run directory (one epoch on 48 rows)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    mh.fit(_frame(), tasks=[mh.Task("y", type="binary")], epochs=1, batch_size=16, output=out)
    return out


@pytest.fixture
def project(tmp_path: Path, trained: Path) -> Path:
    """A user's folder: input data, their own results file, a notes file, a copy of the run."""
    root = tmp_path / "project"
    root.mkdir()
    _frame(12).to_csv(root / "rows.csv", index=False)
    (root / "results.csv").write_text("id,score\n1,0.5\n")
    (root / "metrics.json").write_text('{"mine": true}\n')
    (root / "table.parquet").write_bytes(b"PAR1 not really\n")
    (root / "notes.txt").write_text("a file\n")
    (root / "outdir").mkdir()
    records = pd.DataFrame(
        {
            "url": [f"http://h/r/{i}" for i in range(6)],
            "text": [f"review {i} " * 8 for i in range(6)],
        }
    )
    records.to_parquet(root / "records.parquet", index=False)
    return root


@pytest.fixture(autouse=True)
def no_input_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The output path is checked before the model or the data is read."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the model or the data was read before the output was checked")

    monkeypatch.setattr("manyheads.workflow._fit.load", refuse)
    monkeypatch.setattr("manyheads.data.io.read_table", refuse)
    monkeypatch.setattr("manyheads.curation._build.read_source", refuse)


PREDICT_EXTENSIONS = ".csv, .parquet, .pq, .jsonl"
PREDICT = "predict RUN rows.csv -o"
EVAL = "eval RUN rows.csv -o"
BUILD = "dataset build records.parquet -o"


def _case(command: str, *names: str, id: str) -> Any:
    return pytest.param(shlex.split(command), names, id=id)


CASES = [
    _case(f"{PREDICT} nodir/out.csv", "nodir/out.csv", "'nodir' does not", id="predict-no-parent"),
    _case(f"{PREDICT} out.xlsx", "out.xlsx", PREDICT_EXTENSIONS, id="predict-xlsx"),
    _case(f"{PREDICT} out.txt", "out.txt", PREDICT_EXTENSIONS, id="predict-txt"),
    _case(f"{PREDICT} out", "out", PREDICT_EXTENSIONS, id="predict-no-extension"),
    _case(f"{PREDICT} results.csv", "results.csv", "--overwrite", id="predict-existing-user-file"),
    _case(f"{PREDICT} rows.csv", "rows.csv", "--overwrite", id="predict-over-its-input"),
    _case(f"{PREDICT} outdir", "outdir", "is a folder", id="predict-to-a-folder"),
    _case(f"{PREDICT} notes.txt/o.csv", "notes.txt/o.csv", "not a folder", id="predict-below-file"),
    _case(f"{PREDICT} /proc/out.csv", "/proc/out.csv", "not writable", id="predict-not-writable"),
    _case(f"{PREDICT} ''", "-o", "empty", id="predict-empty-path"),
    _case(f"{EVAL} metrics.json", "metrics.json", "--overwrite", id="eval-existing-user-file"),
    _case(f"{EVAL} nodir/m.json", "nodir/m.json", "does not exist", id="eval-missing-parent"),
    _case(f"{EVAL} outdir", "outdir", "is a folder", id="eval-to-a-folder"),
    _case(f"{EVAL} notes.txt/m.json", "notes.txt/m.json", "not a folder", id="eval-below-a-file"),
    _case(f"{EVAL} /proc/m.json", "/proc/m.json", "not writable", id="eval-not-writable"),
    _case(f"{BUILD} table.parquet", "table.parquet", "--overwrite", id="build-existing-user-file"),
    _case(f"{BUILD} out.csv", "out.csv", ".parquet", id="build-csv-extension"),
    _case(f"{BUILD} outdir", "outdir", "is a folder", id="build-to-a-folder"),
    _case(f"{BUILD} notes.txt/t.parquet", "notes.txt", "not a folder", id="build-below-a-file"),
    _case(f"{BUILD} /proc/new/t.parquet", "/proc", "not writable", id="build-not-writable"),
    _case(f"{BUILD} records.parquet --overwrite", "records.parquet", "source", id="build-on-input"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "names"), CASES)
def test_output_file_refused(
    run: Run, project: Path, trained: Path, argv: list[str], names: tuple[str, ...]
) -> None:
    before = snapshot(project)
    argv = [str(trained) if a == "RUN" else a for a in argv]
    run_before = snapshot(trained)
    outcome = run(*argv, cwd=project)
    assert_refused(outcome, *names)
    assert_kept(before, project)
    assert snapshot(project) == before  # nothing added (no temporary file left either)
    assert snapshot(trained) == run_before
