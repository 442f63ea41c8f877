"""Print the catalogue's table for docs/reliability.md: cases per group and what each asserts.

Run from the repository root: ``python -m tests.catalogue.summary``. A case counts as "exit 2,
place named" when its test calls ``assert_refused`` and as "leftovers checked" when it also
checks the user's files or finished-looking output (``assert_kept``, ``assert_nothing_finished``),
directly or through a helper of its module. ``test_reliability_doc.py`` keeps the doc in step.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFUSED = {"assert_refused"}
LEFTOVERS = {"assert_kept", "assert_nothing_finished"}


def _calls(node: ast.AST) -> set[str]:
    names = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            names.add(func.id if isinstance(func, ast.Name) else getattr(func, "attr", ""))
    return names


def _what_each_test_asserts(path: Path) -> dict[str, set[str]]:
    """Test name -> the checks it makes, following calls into the module's own helpers."""
    tree = ast.parse(path.read_text())
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    direct = {name: _calls(fn) for name, fn in functions.items()}

    def reach(name: str, seen: set[str]) -> set[str]:
        found = set(direct.get(name, ()))
        for callee in direct.get(name, ()):
            if callee in functions and callee not in seen:
                found |= reach(callee, seen | {callee})
        return found

    return {name: reach(name, {name}) for name in functions if name.startswith("test_")}


def collect() -> list[str]:
    """Node ids of every catalogue case (``pytest --collect-only``)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(HERE),
            "--collect-only",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return [line for line in done.stdout.splitlines() if "::" in line]


def table(node_ids: list[str]) -> str:
    """The Markdown table: group, cases, exit 2 with the place named, leftovers checked."""
    cases: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    leftovers: Counter[str] = Counter()
    checks: dict[str, dict[str, set[str]]] = {}
    for node in node_ids:
        file, _, rest = node.partition("::")
        group = Path(file).stem.removeprefix("test_")
        if group in ("harness", "reliability_doc"):
            continue
        if group not in checks:
            checks[group] = _what_each_test_asserts(HERE / Path(file).name)
        made = checks[group].get(rest.split("[")[0], set())
        cases[group] += 1
        refused[group] += bool(made & REFUSED)
        leftovers[group] += bool(made & REFUSED) and bool(made & LEFTOVERS)
    rows = ["| group | cases | exit 2, place named | user's files / finished output checked |"]
    rows.append("|---|---|---|---|")
    for group in sorted(cases):
        rows.append(f"| {group} | {cases[group]} | {refused[group]} | {leftovers[group]} |")
    total = [sum(c.values()) for c in (cases, refused, leftovers)]
    rows.append(f"| **all** | **{total[0]}** | **{total[1]}** | **{total[2]}** |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table(collect()))
