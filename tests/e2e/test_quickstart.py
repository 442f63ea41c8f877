"""The README's first command: `manyheads quickstart` on data shipped in the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_quickstart_compares_three_architectures_on_the_shipped_sample(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "manyheads.cli.main",
            "quickstart",
            "--seeds",
            "1",
            "-o",
            str(tmp_path / "qs"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert "| stl |" in done.stdout
    assert "| mmoe+ew |" in done.stdout
    assert "report:" in done.stdout
    data = json.loads((tmp_path / "qs" / "comparison.json").read_text())
    variants = {v["name"]: v for v in data["variants"]}
    assert set(variants) == {"stl", "hps+ew", "mmoe+ew"}
    for v in variants.values():
        assert v["tasks"]["income"]["n"] == 4000
        assert v["tasks"]["income"]["mean"] > 0.88  # real signal, not chance
        assert v["tasks"]["never_married"]["mean"] > 0.97
    assert (tmp_path / "qs" / "report.html").exists()
