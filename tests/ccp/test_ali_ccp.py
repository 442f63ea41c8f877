"""ali-ccp: the shipped sample files (rechub, AITM) and the official Tianchi layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from manyheads.builtin_datasets import load_dataset
from manyheads.builtin_datasets._ali_ccp import FIELDS
from manyheads.errors import DataError, InvalidParameterError


def test_rechub_samples(shared_data: Path) -> None:
    ds = load_dataset("ali-ccp", layout="rechub")
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (100, 50, 50)
    assert ds.train.shape[1] == 33
    assert [t.name for t in ds.tasks] == ["click", "purchase"]
    assert ds.inputs["101"] == "categorical"
    assert ds.inputs["D508"] == "numeric"
    assert int(ds.train["click"].sum()) == 7
    assert "ali_ccp" not in ds.inputs


def test_aitm_purchases_without_clicks_are_refused_or_dropped(shared_data: Path) -> None:
    with pytest.raises(DataError, match=r"paddlerec_aitm_train_sample.csv, line 9, column 'pur"):
        load_dataset("ali-ccp", layout="aitm")
    ds = load_dataset("ali-ccp", layout="aitm", purchase_without_click="drop")
    assert len(ds.train) + len(ds.valid) == 48 - 2
    assert len(ds.test) == 50 - 3  # the header-less test file read with the train header
    assert list(ds.test.columns) == list(ds.train.columns)


def _entries(pairs: dict[str, str]) -> str:
    return "\x01".join(f"{f}\x02{v}\x031.0" for f, v in pairs.items())


def _official(root: Path) -> None:
    root.mkdir()
    for split in ("train", "test"):
        common = [
            f"u1,2,{_entries({'101': '11', '124': '2', '109_14': '7'})}",
            f"u2,1,{_entries({'101': '12'})}",
        ]
        (root / f"common_features_{split}.csv").write_text("\n".join(common) + "\n")
        rows = [
            f"1,1,1,u1,2,{_entries({'205': '501', '301': '1'})}",
            f"2,0,1,u1,1,{_entries({'205': '502'})}",  # purchase without click: dropped
            f"3,0,0,u2,2,{_entries({'205': '503', '101': '99'})}",  # own field wins
        ] + [f"{i},0,0,u2,1,{_entries({'205': str(600 + i)})}" for i in range(4, 24)]
        (root / f"sample_skeleton_{split}.csv").write_text("\n".join(rows) + "\n")


def test_official_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _official(tmp_path / "ali-ccp")
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    ds = load_dataset("ali-ccp")
    assert list(ds.train.columns) == ["click", "purchase", *FIELDS]
    assert (len(ds.train), len(ds.valid), len(ds.test)) == (20, 2, 22)
    test = ds.test
    first = test.iloc[0]
    assert (first["click"], first["purchase"], first["101"], first["124"]) == (1, 1, 11, 2)
    assert (first["205"], first["301"], first["126"]) == (501, 1, 0)  # absent field -> 0
    assert test.iloc[1]["101"] == 99  # the impression's own field overrides the user's
    assert 502 not in set(test["205"])
    assert len(load_dataset("ali-ccp", limit=5).test) == 4  # 5 lines read, 1 dropped


def test_official_layout_errors_name_the_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ali-ccp"
    _official(root)
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    skeleton = root / "sample_skeleton_test.csv"
    lines = skeleton.read_text().splitlines()
    skeleton.write_text("\n".join([*lines[:2], "4,0,0,nope,1,205\x02600\x031.0", *lines[2:]]))
    with pytest.raises(DataError, match=r"sample_skeleton_test.csv, line 3: the common-feature"):
        load_dataset("ali-ccp")
    skeleton.write_text("\n".join([*lines[:3], "5,0,0,u1,1,205=7", *lines[3:]]))
    with pytest.raises(DataError, match=r"line 4: the feature entry '205=7' is not"):
        load_dataset("ali-ccp")
    skeleton.write_text("\n".join([*lines[:3], "5,0,0,u1,1,205\x02x7\x031.0", *lines[3:]]))
    with pytest.raises(DataError, match=r"column '205': the feature id 'x7' of field 205 is not"):
        load_dataset("ali-ccp")


def test_a_broken_csv_is_refused_with_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "ali-ccp"
    root.mkdir()
    for name in ("ali_ccp_train.csv", "ali_ccp_val.csv", "ali_ccp_test.csv"):
        (root / name).write_text("click,purchase,101\n0,0,1\n")
    (root / "ali_ccp_val.csv").write_bytes(b"click,purchase,101\n0,0,\xff\xfe\n")
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"ali_ccp_val.csv: cannot read this Ali-CCP file as CSV"):
        load_dataset("ali-ccp", layout="rechub")


def test_missing_files_and_bad_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ali-ccp").mkdir()
    monkeypatch.setenv("MANYHEADS_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"no Ali-CCP files of layout 'auto' found. Expected"):
        load_dataset("ali-ccp")
    with pytest.raises(InvalidParameterError, match=r"'layout' option of ali-ccp must be one"):
        load_dataset("ali-ccp", layout="tianchi")
    with pytest.raises(InvalidParameterError, match=r"'limit' option of ali-ccp must be"):
        load_dataset("ali-ccp", limit=0)
