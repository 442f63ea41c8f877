"""Issue 16's code-shape limits hold as the code grows: no module over 300 lines, ``train_model``
within one screen (60 lines). Measured by ``bench/structure.py`` (docs/benchmarks.md)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "manyheads"


def test_no_module_is_over_300_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in SRC.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 300
    }
    assert long == {}, f"split these modules by job (issue 16): {long}"


def test_train_model_reads_in_one_screen() -> None:
    tree = ast.parse((SRC / "engine" / "trainer.py").read_text())
    (node,) = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "train_model"
    ]
    assert (node.end_lineno or 0) - node.lineno + 1 <= 60
