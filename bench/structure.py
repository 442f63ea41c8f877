"""The code-shape numbers of issue 16: module length, ``train_model``'s length, parameters per
function, duplicated blocks.

Reads ``src/manyheads`` (no import): the longest modules, every module over ``--max-lines``,
the lines of ``engine.trainer.train_model``, every function with more than ``--max-params``
parameters (``self``/``cls`` not counted), and, when the ``duplicates`` tool is on the PATH
(the development machine's clone detector; not a project dependency), its pair count.

Usage:
    python bench/structure.py [--markdown]
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "manyheads"


def module_lines() -> dict[str, int]:
    """Lines of every module, longest first."""
    lines = {
        str(p.relative_to(SRC.parent)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")
    }
    return dict(sorted(lines.items(), key=lambda kv: -kv[1]))


def _params(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = node.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return len([n for n in names if n not in ("self", "cls")])


def functions() -> list[tuple[str, str, int, int]]:
    """(module, function, parameters, lines) of every function."""
    found = []
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                found.append((str(path.relative_to(SRC.parent)), node.name, _params(node), length))
    return found


def duplicate_pairs() -> int | None:
    """``duplicates --repo src``'s pair count, or None without the tool."""
    tool = shutil.which("duplicates")
    if tool is None:
        return None
    out = subprocess.run(
        [tool, "--repo", "src"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout
    match = re.match(r"(\d+) pairs", out) or re.match(r"no duplicates", out)
    if match is None:
        return None
    return int(match.group(1)) if match.groups() else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-lines", type=int, default=300)
    parser.add_argument("--max-params", type=int, default=8)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()

    lines = module_lines()
    over = {m: n for m, n in lines.items() if n > args.max_lines}
    funcs = functions()
    train_model = [f for f in funcs if f[0].endswith("engine/trainer.py") and f[1] == "train_model"]
    wide = [f for f in funcs if f[2] > args.max_params]
    pairs = duplicate_pairs()
    rows = [
        ("modules", str(len(lines))),
        ("longest module", "{} ({} lines)".format(*next(iter(lines.items())))),
        (f"modules over {args.max_lines} lines", str(len(over)) + (f": {over}" if over else "")),
        ("`train_model` lines", str(train_model[0][3]) if train_model else "not found"),
        (
            f"functions with more than {args.max_params} parameters",
            ", ".join(f"{m}:{n} ({p})" for m, n, p, _ in wide) or "none",
        ),
        ("`duplicates --repo src` pairs", "tool not on PATH" if pairs is None else str(pairs)),
    ]
    if args.markdown:
        print("| measure | value |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
    else:
        for name, value in rows:
            print(f"{name}: {value}")


if __name__ == "__main__":
    main()
