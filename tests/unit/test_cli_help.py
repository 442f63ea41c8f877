"""``manyheads --help`` and every subcommand's ``--help`` format and exit 0."""

from __future__ import annotations

import subprocess
import sys

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


def test_help_imports_neither_torch_nor_sklearn() -> None:
    # `manyheads --help` took seconds because the package imported torch at import time.
    code = (
        "import sys\n"
        "from manyheads.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = sorted({'torch', 'sklearn', 'pandas'} & set(sys.modules))\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_public_names_load_on_first_use() -> None:
    import manyheads as mh

    assert set(mh.__all__) <= set(dir(mh))
    assert mh.Task.__name__ == "Task"
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = mh.nope  # type: ignore[attr-defined]
