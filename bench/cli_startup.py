"""CLI start-up: wall and CPU seconds of ``ls``, ``--help`` and ``validate`` per code version.

Each version is a ``src`` folder put first on ``PYTHONPATH`` (e.g. a ``git worktree`` of an older
commit). The runs are interleaved (version A, version B, A, B, ...) so that a loaded machine
slows both alike; CPU time (user + system of the child) is reported beside the wall time, as the
benchmarks page asks for timing on a shared machine. ``validate`` checks a small valid config
(``--no-data``: the config and the dry run that builds the model and the balancing method) and one
with an unknown architecture.

Usage:
    python bench/cli_startup.py --src new=src --src old=/tmp/old/src --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONFIG = """data: {train: train.csv}
tasks: {y: {type: binary}, z: {type: regression}}
model: {architecture: mmoe}
output: run
"""

COMMANDS = {
    "ls": ["ls"],
    "--help": ["--help"],
    "validate (valid, --no-data)": ["validate", "cfg.yaml", "--no-data"],
    "validate (unknown architecture)": ["validate", "bad.yaml", "--no-data"],
}


def _one(src: str, argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m manyheads.cli.main ARGV`` run."""
    env = {**os.environ, "PYTHONPATH": src}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "manyheads.cli.main", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--src", action="append", required=True, help="NAME=SRC_FOLDER")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    versions = dict(item.split("=", 1) for item in args.src)
    versions = {name: str(Path(src).resolve()) for name, src in versions.items()}
    with tempfile.TemporaryDirectory() as folder:
        cwd = Path(folder)
        (cwd / "cfg.yaml").write_text(CONFIG)
        (cwd / "bad.yaml").write_text(CONFIG.replace("mmoe", "mmeo"))
        times: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for label, argv in COMMANDS.items():
                for name, src in versions.items():
                    times.setdefault((label, name), []).append(_one(src, argv, cwd))
    rows = []
    for (label, name), runs in times.items():
        rows.append(
            {
                "command": label,
                "version": name,
                "wall_median_s": round(statistics.median(w for w, _ in runs), 2),
                "cpu_median_s": round(statistics.median(c for _, c in runs), 2),
            }
        )
    print(json.dumps(rows, indent=1))
    names = list(versions)
    print("| command | " + " | ".join(f"{n} wall / CPU s" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for label in COMMANDS:
        cells = [
            f"{r['wall_median_s']:.2f} / {r['cpu_median_s']:.2f}"
            for n in names
            for r in rows
            if r["command"] == label and r["version"] == n
        ]
        print(f"| `{label}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
