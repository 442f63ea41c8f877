"""The README's first command: `manyheads quickstart` on data shipped in the package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from manyheads.workflow._summary import delta_m


def _env(tmp_path: Path) -> dict[str, str]:
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)}
    if "PYTHONPATH" in os.environ:  # a git worktree's src/ over the editable install
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


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
        env=_env(tmp_path),
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
    # the gbdt and linear baselines of every quickstart, beside stl
    assert "| gbdt |" in done.stdout
    assert "| linear |" in done.stdout
    assert "Δm% vs gbdt | Δm% vs linear" in done.stdout
    baselines = {b["name"]: b for b in data["baselines"]}
    assert set(baselines) == {"gbdt", "linear"}
    for b in baselines.values():
        assert b["tasks"]["income"]["n"] == 4000
        assert b["tasks"]["income"]["mean"] > 0.88
        assert b["tasks"]["never_married"]["mean"] > 0.97
    gbdt = {t: m["mean"] for t, m in baselines["gbdt"]["tasks"].items()}
    higher = dict.fromkeys(gbdt, True)
    for v in variants.values():
        seed0 = {t: m["per_seed"][0] for t, m in v["tasks"].items()}
        expected = delta_m(seed0, gbdt, higher)
        assert v["delta_m_baselines"]["gbdt"]["per_seed"] == [pytest.approx(expected)]
