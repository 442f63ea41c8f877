"""Fixtures of the bad-input catalogue (the contract is in ``_harness.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalogue._harness import Outcome, Run, call_cli


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("train", "cfg.yaml", cwd=tmp_path)`` -> the in-process :class:`Outcome`."""

    def call(*argv: str, cwd: Path) -> Outcome:
        monkeypatch.chdir(cwd)
        return call_cli(argv, capsys)

    return call
