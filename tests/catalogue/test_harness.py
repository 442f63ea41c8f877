"""The catalogue's own harness: it sees exit codes, tracebacks and a user's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalogue._harness import Run, assert_kept, assert_refused, snapshot


def test_a_missing_config_is_refused_by_name(run: Run, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    outcome = run("train", "missing.yaml", cwd=tmp_path)
    assert_refused(outcome, "missing.yaml")
    assert_kept(before, tmp_path)


def test_assert_kept_sees_a_changed_file(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    before = snapshot(tmp_path)
    (tmp_path / "keep.txt").write_text("changed")
    with pytest.raises(AssertionError, match=r"changed \['keep.txt'\]"):
        assert_kept(before, tmp_path)
