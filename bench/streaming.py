"""Tables larger than memory (issue 19 §2): one streamed epoch's peak RSS and throughput
against the in-memory path on a 2M-row sample.

A table of ``--rows`` rows (three numeric columns with missing cells, a 20-value and a Zipf
10,000-value categorical, a short text column; a binary ``click`` and a regression ``dwell``
task) is generated in chunks as Parquet files of 1M rows (row groups of 131,072) under
``--root`` (never in the repository), with a 50,000-row validation file. Each measurement runs
``manyheads`` end to end (``train_config``, ``hps``, one epoch, ``batch_size`` 1024) in its own
process, so its peak RSS (``getrusage``) is its own: ``memory`` reads the first two files whole
(``data.stream: false``), ``stream-sample`` streams the same 2M rows, ``stream`` streams the
whole table. Throughput is training rows per second of the epoch (``train_one_epoch`` timed;
fitting the preprocessing and the validation pass are reported apart).

Usage (from the repository root, under the shared lock)::

    flock /tmp/manyheads-bench.lock nice -n 10 env OMP_NUM_THREADS=1 \\
        python bench/streaming.py --rows 20000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FILE_ROWS = 1_000_000
ROW_GROUP = 131_072
SAMPLE_FILES = 2  # the in-memory sample: the first 2M rows
WORDS = np.array([f"w{i}" for i in range(2000)])


def make_chunk(n: int, seed: int) -> pd.DataFrame:
    """``n`` generated rows (seeded): inputs, a binary and a regression label."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n, 3))
    num[rng.random((n, 3)) < 0.02] = np.nan
    cat_a = rng.integers(0, 20, n)
    cat_b = np.minimum(rng.zipf(1.3, n), 10_000)
    n_words = rng.integers(3, 9, n)
    ids = rng.integers(0, len(WORDS), int(n_words.sum()))
    cuts = np.cumsum(n_words)[:-1]
    title = [" ".join(w) for w in np.split(WORDS[ids], cuts)]
    first_word = ids[np.concatenate([[0], cuts])]
    signal = np.nan_to_num(num[:, 0]) - 0.5 * np.nan_to_num(num[:, 1]) + (cat_a % 3 == 0)
    signal = signal + (first_word % 5 == 0) - 0.3 * np.log(cat_b)
    click = (rng.random(n) < 1 / (1 + np.exp(-signal))).astype(np.int8)
    dwell = 2.0 * np.nan_to_num(num[:, 2]) + 0.5 * signal + rng.normal(size=n)
    return pd.DataFrame(
        {
            "num_0": num[:, 0],
            "num_1": num[:, 1],
            "num_2": num[:, 2],
            "cat_a": np.char.add("a", cat_a.astype(str)),
            "cat_b": np.char.add("b", cat_b.astype(str)),
            "title": title,
            "click": click,
            "dwell": dwell,
        }
    )


def generate(root: Path, n_rows: int, file_rows: int = FILE_ROWS, valid_rows: int = 50_000) -> Path:
    """Write the table under ``root/table`` (kept when it already has ``n_rows`` rows)."""
    table = root / "table"
    stamp = root / "table.json"
    if (
        stamp.exists()
        and json.loads(stamp.read_text())["rows"] == n_rows
        and any(table.glob("*.parquet"))  # the files may have been removed since
    ):
        return table
    table.mkdir(parents=True, exist_ok=True)
    for old in table.glob("*.parquet"):
        old.unlink()  # only files this script wrote under its own root
    for i, start in enumerate(range(0, n_rows, file_rows)):
        chunk = make_chunk(min(file_rows, n_rows - start), seed=i)
        frame = pa.Table.from_pandas(chunk, preserve_index=False)
        pq.write_table(frame, table / f"part-{i:04d}.parquet", row_group_size=ROW_GROUP)
    make_chunk(valid_rows, seed=10**6).to_parquet(root / "valid.parquet")
    sample = root / "sample"
    sample.mkdir(exist_ok=True)
    for i in range(SAMPLE_FILES):
        link = sample / f"part-{i:04d}.parquet"
        if not link.exists():
            link.symlink_to(table / f"part-{i:04d}.parquet")
    stamp.write_text(json.dumps({"rows": n_rows}))
    return table


def config(
    root: Path, train: Path, stream: bool, batch_size: int, buffer: int
) -> dict[str, object]:
    data = {"train": str(train), "valid": str(root / "valid.parquet"), "stream": stream}
    if stream:
        data["stream_options"] = {"shuffle_buffer": buffer}
    return {
        "data": data,
        "inputs": {
            "num_0": "numeric",
            "num_1": "numeric",
            "num_2": "numeric",
            "cat_a": "categorical",
            "cat_b": "categorical",
            "title": "text",
        },
        "tasks": {"click": {"type": "binary"}, "dwell": {"type": "regression"}},
        "model": {"architecture": "hps"},
        "train": {"epochs": 1, "batch_size": batch_size, "seed": 0},
        "output": None,
    }


def measure(root: Path, mode: str, batch_size: int, epochs: int, buffer: int) -> dict[str, object]:
    """One epoch in this process (run as a child: its peak RSS is the measurement's own)."""
    import yaml

    import manyheads.engine.trainer as trainer
    import manyheads.workflow._encoding as encoding
    from manyheads.config.load import load_config
    from manyheads.workflow._fit import train_config

    train = root / ("table" if mode == "stream" else "sample")
    path = root / f"{mode}.yaml"
    cfg = config(root, train, mode != "memory", batch_size, buffer)
    cfg["train"]["epochs"] = epochs  # type: ignore[index]
    path.write_text(yaml.safe_dump(cfg))
    times: dict[str, list[float]] = {}

    def timed(name: str, fn):
        def wrapper(*args, **kwargs):
            began, cpu = time.perf_counter(), time.process_time()
            out = fn(*args, **kwargs)
            times.setdefault(name, []).append(time.perf_counter() - began)
            times.setdefault(name.replace("_s", "_cpu_s"), []).append(time.process_time() - cpu)
            return out

        return wrapper

    trainer.train_one_epoch = timed("epoch_s", trainer.train_one_epoch)
    encoding.encode = timed("encode_s", encoding.encode)
    began = time.perf_counter()
    run = train_config(load_config(path, hardware=False))
    total = time.perf_counter() - began
    rows = 0
    for frame in pq.ParquetDataset(str(train)).fragments:
        rows += frame.count_rows()
    return {
        "encode_s": round(sum(times["encode_s"]), 1),
        "epoch_s": [round(t, 1) for t in times["epoch_s"]],
        "total_s": round(total, 1),
        "rows": rows,
        "rows_per_s": round(rows / min(times["epoch_s"])),  # the fastest epoch (load noise)
        # process CPU time: the work done, not inflated by other jobs on a loaded machine
        "epoch_cpu_s": [round(t, 1) for t in times["epoch_cpu_s"]],
        "rows_per_cpu_s": round(rows / min(times["epoch_cpu_s"])),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "test_auc": round(run.metrics["tasks"]["click"]["auc"], 4),
        "test_rmse": round(run.metrics["tasks"]["dwell"]["rmse"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000_000)
    parser.add_argument("--root", type=Path, default=Path("/work/bench-runs/streaming"))
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument(
        "--file-rows",
        type=int,
        default=FILE_ROWS,
        help="rows per file (the in-memory sample is the first two files)",
    )
    parser.add_argument("--modes", default="memory,stream-sample,stream")
    parser.add_argument("--valid-rows", type=int, default=50_000)
    parser.add_argument("--shuffle-buffer", type=int, default=250_000)
    parser.add_argument(
        "--epochs",
        type=int,
        default=1,
        help="epochs per measurement (the fastest one gives the throughput)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(
            json.dumps(
                measure(args.root, args.child, args.batch_size, args.epochs, args.shuffle_buffer)
            )
        )
        return
    began = time.perf_counter()
    generate(args.root, args.rows, args.file_rows, args.valid_rows)
    print(f"table: {args.rows} rows under {args.root} ({time.perf_counter() - began:.0f} s)")
    results = {}
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--root", str(args.root), "--child", mode]
        cmd += ["--batch-size", str(args.batch_size), "--epochs", str(args.epochs)]
        cmd += ["--shuffle-buffer", str(args.shuffle_buffer)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ)
        results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(mode, json.dumps(results[mode]), flush=True)
    for mode in ("stream-sample", "stream"):
        if "memory" in results and mode in results:
            ratio = results[mode]["rows_per_s"] / results["memory"]["rows_per_s"]
            cpu = results[mode]["rows_per_cpu_s"] / results["memory"]["rows_per_cpu_s"]
            rss = results[mode]["peak_rss_gb"]
            print(
                f"{mode}: throughput / memory {ratio:.2f} wall, {cpu:.2f} CPU (target >= 0.80); "
                f"peak RSS {rss:.2f} GB"
            )


if __name__ == "__main__":
    main()
