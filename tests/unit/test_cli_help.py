"""``manyheads --help`` and every subcommand's ``--help`` format and exit 0."""

from __future__ import annotations

import pytest

from manyheads.cli.main import VERBS, main


def test_top_level_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "compare   train architectures × weightings × seeds and report Δm% vs stl" in out
    for verb in VERBS:
        assert f"\n    {verb}" in out


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_prints_its_help(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main([verb, "--help"])
    assert stop.value.code == 0
    assert f"usage: manyheads {verb}" in capsys.readouterr().out
