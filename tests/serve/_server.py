"""Helpers of the service tests: a real ``manyheads serve`` process on 127.0.0.1, and the
reference predictions of ``manyheads predict`` for the same rows."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np
import pandas as pd


def free_port() -> int:
    """A port nothing listens on now (the server binds it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A ``manyheads serve`` subprocess; ``url`` is its base URL."""

    def __init__(self, args: Sequence[str], cwd: Path, *, ready_s: float = 120.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / f"serve-{self.port}.log"
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
        if env.get("PYTHONPATH"):  # a worktree's src/ given relative to the test's folder
            paths = env["PYTHONPATH"].split(os.pathsep)
            env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in paths)
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "manyheads.cli.main",
                    "serve",
                    *args,
                    "--port",
                    str(self.port),
                ],
                cwd=cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self._wait_ready(ready_s)

    def _wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve exited {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"serve not ready after {seconds} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text()

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)


def predict_file(
    run: Path, rows: Sequence[dict[str, object]], out: Path, *extra: str
) -> pd.DataFrame:
    """What ``manyheads predict RUN rows.jsonl -o out.parquet`` writes for ``rows``."""
    from manyheads.cli.main import main

    source = out.with_suffix(".jsonl")
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["predict", str(run), str(source), "-o", str(out), "--overwrite", *extra]) == 0
    return pd.read_parquet(out)


def as_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The rows of a prediction file as plain Python values (lists for per-word tags)."""
    columns = {
        c: [v.tolist() if isinstance(v, np.ndarray) else v for v in frame[c].tolist()]
        for c in frame.columns
    }
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def sentences(n: int, seed: int) -> list[dict[str, list[str]]]:
    """``PER VERB LOC .`` sentences with UPOS and BIO tags."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        place = [["Paris"], ["Rome"], ["New", "York"]][int(rng.integers(3))]
        tokens = [str(rng.choice(["Anna", "Bob", "Chen"])), str(rng.choice(["visits", "likes"]))]
        tokens += [*place, "."]
        pos = ["PROPN", "VERB", *["PROPN"] * len(place), "PUNCT"]
        ner = ["B-PER", "O", "B-LOC", *["I-LOC"] * (len(place) - 1), "O"]
        rows.append({"tokens": tokens, "pos": pos, "ner": ner})
    return rows
