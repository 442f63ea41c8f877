"""Catalogue: bad data files on ``train``, ``validate``, ``predict`` and ``eval``.

Each case writes one bad file next to the user's other files and expects exit 2 naming the
file and, where there is one, the line and column; no traceback, no finished-looking output,
and every file of the user's kept byte for byte. The run that ``predict`` and ``eval`` load is
trained once per module (1 epoch, 200 rows). The rule for non-finite numbers is in
docs/reliability.md ("Non-finite numbers").
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.catalogue._harness import (
    Run,
    assert_kept,
    assert_nothing_finished,
    assert_refused,
    snapshot,
)

HEADER = "age,hours,colour,y,r\n"
ROWS = [
    f"{20 + i},{40 + i % 5}.5,{('red', 'blue')[i % 2]},{i % 2},{i / 10:.2f}\n" for i in range(200)
]

#: Writes a bad file into a folder and returns its name.
Make = Callable[[Path], str]


def _csv(name: str, text: str, encoding: str = "utf-8") -> Make:
    def make(folder: Path) -> str:
        (folder / name).write_bytes(text.encode(encoding))
        return name

    return make


def _replace(position: int, line: str, name: str = "bad.csv") -> Make:
    """The good rows with row ``position`` (0-based; file line ``position + 2``) replaced."""
    rows = list(ROWS)
    rows[position] = line
    return _csv(name, HEADER + "".join(rows))


def _gz(name: str, text: str) -> Make:
    def make(folder: Path) -> str:
        data = gzip.compress(text.encode())
        (folder / name).write_bytes(data[: len(data) // 2])
        return name

    return make


def _jsonl_rows() -> str:
    return "".join(
        f'{{"age": {20 + i}, "hours": 40.5, "colour": "red", "y": {i % 2}, "r": 0.5}}\n'
        for i in range(200)
    )


def _directory(folder: Path) -> str:
    (folder / "data.csv").mkdir()
    return "data.csv"


def _missing(folder: Path) -> str:
    return "nowhere.csv"


_QUOTED = HEADER + "".join(ROWS[:3]) + '24,40.5,"re\nd",1,0.1\n' + "".join(ROWS[4:])

#: (what is wrong, how to write it, what the message must name, verbs that read it)
FILES: list[tuple[str, Make, tuple[str, ...], tuple[str, ...]]] = [
    ("truncated-jsonl-gz", _gz("bad.jsonl.gz", _jsonl_rows()), ("bad.jsonl.gz", "truncated"), ()),
    (
        "truncated-csv-gz",
        _gz("bad.csv.gz", HEADER + "".join(ROWS)),
        ("bad.csv.gz", "truncated"),
        (),
    ),
    (
        "latin1-csv",
        _csv("bad.csv", HEADER + "".join(ROWS[:5]) + "25,40.5,caf\xe9,1,0.1\n", "latin-1"),
        ("bad.csv, line 7", "UTF-8", "cp1252"),
        (),
    ),
    (
        "quoted-newline-then-bad-cell",
        _csv("bad.csv", _QUOTED.replace("\n27,", "\noops,", 1)),
        ("bad.csv, line 10", "column 'age'", "'oops'"),
        (),
    ),
    (
        "quoted-newline-then-ragged-row",
        _csv("bad.csv", _QUOTED.replace("\n27,42.5,blue,1,0.70", "\n27,42.5,blue,1", 1)),
        ("bad.csv, line 10", "expected 5 fields", "found 4"),
        (),
    ),
    (
        "ragged-row-short",
        _replace(4, "24,40.5,red,1\n"),
        ("bad.csv, line 6", "expected 5 fields", "found 4"),
        (),
    ),
    (
        "ragged-row-long",
        _replace(4, "24,40.5,red,1,0.1,extra\n"),
        ("bad.csv, line 6", "expected 5 fields", "found 6"),
        (),
    ),
    (
        "ragged-first-row",
        _replace(0, "20,40.5,red,0,0.0,9\n"),
        ("bad.csv, line 2", "found 6"),
        (),
    ),
    (
        "duplicate-header-names",
        _csv("bad.csv", "age,hours,age,y,r\n" + "".join(ROWS)),
        ("bad.csv, line 1", "columns 1 and 3", "'age'"),
        (),
    ),
    (
        "semicolon-separated",
        _csv("bad.csv", (HEADER + "".join(ROWS)).replace(",", ";")),
        ("bad.csv, line 1", "semicolon"),
        (),
    ),
    (
        "tab-separated-csv",
        _csv("bad.csv", (HEADER + "".join(ROWS)).replace(",", "\t")),
        ("bad.csv, line 1", "tab"),
        (),
    ),
    ("empty-file", _csv("bad.csv", ""), ("bad.csv", "empty"), ()),
    ("blank-lines-only", _csv("bad.csv", "\n\n  \n"), ("bad.csv", "empty"), ()),
    ("header-only", _csv("bad.csv", HEADER), ("bad.csv", "no rows"), ()),
    ("directory-as-file", _directory, ("data.csv", "directory"), ()),
    ("missing-file", _missing, ("nowhere.csv", "not found"), ()),
    (
        "jsonl-invalid-line",
        _csv("bad.jsonl", _jsonl_rows().replace('"r": 0.5}', '"r": 0.5', 1)),
        ("bad.jsonl, line 1", "invalid JSON"),
        (),
    ),
    (
        "inf-input",
        _replace(4, "24,inf,red,1,0.1\n"),
        ("bad.csv, line 6", "column 'hours'", "finite"),
        (),
    ),
    (
        "minus-inf-input",
        _replace(4, "24,-inf,red,1,0.1\n"),
        ("bad.csv, line 6", "column 'hours'", "finite"),
        (),
    ),
    (
        "1e308-input",
        _replace(4, "24,1e308,red,1,0.1\n"),
        ("bad.csv, line 6", "column 'hours'"),
        (),
    ),
    (
        "inf-regression-label",
        _replace(4, "24,40.5,red,1,inf\n"),
        ("bad.csv, line 6", "column 'r'", "finite"),
        ("predict",),
    ),
    (
        "1e308-regression-label",
        _replace(4, "24,40.5,red,1,1e308\n"),
        ("bad.csv, line 6", "column 'r'"),
        ("predict",),
    ),
]

VERBS = ("train", "validate", "predict", "eval")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run on the good rows (1 epoch, 200 rows), trained once per module."""
    from manyheads.cli.main import main

    root = tmp_path_factory.mktemp("data")
    (root / "train.csv").write_text(HEADER + "".join(ROWS))
    (root / "cfg.yaml").write_text(_config(root / "train.csv", root / "run"))
    assert main(["train", str(root / "cfg.yaml"), "--quiet"]) == 0
    return root / "run"


def _config(train: Path | str, output: Path | str) -> str:
    return (
        f"data: {{train: {train}}}\n"
        "tasks: {y: {type: binary}, r: {type: regression}}\n"
        "inputs: {age: numeric, hours: numeric, colour: categorical}\n"
        "model: {architecture: hps, hidden: [8]}\n"
        "train: {epochs: 1, batch_size: 64}\n"
        f"output: {output}\n"
    )


CASES = [
    pytest.param(make, names, verb, id=f"{what}-{verb}")
    for what, make, names, skip in FILES
    for verb in VERBS
    if verb not in skip
]


@pytest.mark.parametrize(("make", "names", "verb"), CASES)
def test_a_bad_data_file_is_refused_by_place(
    run: Run, trained: Path, tmp_path: Path, make: Make, names: tuple[str, ...], verb: str
) -> None:
    (tmp_path / "notes.txt").write_text("the user's own file")
    name = make(tmp_path)
    (tmp_path / "cfg.yaml").write_text(_config(name, "run"))
    model = tmp_path / "model"
    shutil.copytree(trained, model)
    before = snapshot(tmp_path)
    if verb in ("train", "validate"):
        outcome = run(verb, "cfg.yaml", cwd=tmp_path)
    elif verb == "predict":
        outcome = run("predict", "model", name, "-o", "out.csv", cwd=tmp_path)
    else:
        outcome = run("eval", "model", name, "-o", "out.json", cwd=tmp_path)
    assert_refused(outcome, *names)
    assert_kept(before, tmp_path)
    assert_nothing_finished(tmp_path / "run")
    assert not (tmp_path / "out.csv").exists()
    assert not (tmp_path / "out.json").exists()
    assert snapshot(tmp_path).keys() - before.keys() <= {
        str(p.relative_to(tmp_path)) for p in (tmp_path / "run").rglob("*")
    }, "a file was written outside the run folder"
