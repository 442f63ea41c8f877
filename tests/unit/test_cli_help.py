"""``manyheads --help`` and every subcommand's ``--help`` format and exit 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from manyheads.cli.main import VERBS, main


def test_top_level_help_lists_every_verb(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "compare   train architectures × methods × seeds and report Δm% vs stl" in out
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


def _eager_ls_rows() -> dict[str, dict[str, str]]:
    """What ``manyheads ls`` printed when the registries imported every class: the registered
    docs, and for task types and metrics what the resolved classes say."""
    from manyheads import _catalogue
    from manyheads.tasks import get_task_type

    task_types = _catalogue.TASK_TYPES.names()
    return {
        "architectures": _catalogue.ARCHITECTURES.describe(),
        "encoders": _catalogue.ENCODERS.describe(),
        "methods": _catalogue.METHODS.describe(),
        "tasks": {name: get_task_type(name).summary for name in task_types},
        "metrics": {
            name: ", ".join(
                f"{m} ({'higher' if up else 'lower'} is better{', primary' if i == 0 else ''})"
                for i, (m, up) in enumerate(get_task_type(name).metric_directions.items())
            )
            for name in task_types
        },
        "datasets": _catalogue.DATASETS.describe(),
    }


@pytest.mark.parametrize("what", [[], ["methods"]], ids=["ls", "ls-methods"])
def test_ls_imports_no_torch_sklearn_or_pandas_and_lists_what_the_classes_say(
    what: list[str],
) -> None:
    # `manyheads ls` took ~3 s because each registry imported its classes (and so torch).
    code = (
        "import sys\n"
        "from manyheads.cli.main import main\n"
        f"code = main(['ls', *{what!r}])\n"
        "heavy = sorted({'torch', 'sklearn', 'pandas'} & set(sys.modules))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    *listing, last = done.stdout.strip().splitlines()
    assert last == "0 []"
    rows = _eager_ls_rows()
    expected = []
    for family in what or list(rows):
        width = max(len(name) for name in rows[family])
        expected += [f"{family}:", *(f"  {n:<{width}}  {d}" for n, d in rows[family].items())]
    assert listing == expected


def test_validate_loads_torch_for_its_dry_run_but_not_sklearn_torchjd_or_scipy(
    tmp_path: Path,
) -> None:
    # the dry run builds the model (torch); the metrics (sklearn) and the Gramian solvers
    # (TorchJD: upgrad, imtl, aligned_mtl) load when a run scores or such a solver is built;
    # importing them up front cost every validate 0.9 s and 0.4 s; scipy's optimiser (CAGrad's
    # solver) loads when CAGrad first runs: 0.5 s more
    (tmp_path / "cfg.yaml").write_text(
        "data: {train: t.csv}\n"
        "tasks: {y: {type: binary}, z: {type: regression}}\n"
        "model: {architecture: mmoe}\n"
        "train: {method: cagrad}\n"
        "output: run\n"
    )
    code = (
        "import sys\n"
        "from manyheads.cli.main import main\n"
        f"code = main(['validate', {str(tmp_path / 'cfg.yaml')!r}, '--no-data'])\n"
        "heavy = sorted({'torch', 'sklearn', 'torchjd', 'scipy'} & set(sys.modules))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "0 ['torch']"
