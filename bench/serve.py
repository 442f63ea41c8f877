"""Serving throughput: ``manyheads serve`` against a plain FastAPI endpoint (issue 18 §1).

Contract::

    MANYHEADS_DATA=../shared/data python bench/serve.py --json serve.json --markdown
    python bench/serve.py --run-census RUN --run-reviews RUN --seconds 20 --rounds 2
    python bench/serve.py --quick          # a smoke run: tiny models, 3 s per cell, one round

Two models, each trained briefly unless a run is given (serving speed depends on the network,
not on its weights); a trained run is cached under ``--workdir`` and reused:

- ``census``: census-income ``mmoe`` with bench/census_quality.py's network (8 experts of [32],
  towers [16], embeddings of 8), one epoch on the packaged 16,000-row training sample;
- ``reviews``: clothing reviews ``hps`` on the ``pretrained`` encoder (MiniLM-L6, mean pooling,
  128 pieces, towers [64]) with department, rating and recommended, one epoch on the first
  ``--reviews-train-rows`` training reviews (512).

Three servers per model, each its own process on 127.0.0.1, all up while that model is measured:
``plain`` (bench/_serve_plain.py: FastAPI + uvicorn, one worker, ``Run.predict`` in the handler),
``serve`` (``manyheads serve``) and ``serve-batch`` (``manyheads serve`` with
``--batch-options``, micro-batching). Each is warmed up (sequential, then concurrent requests).
Load: locust (bench/_serve_locust.py, FastHttpUser, no think time), headless in its own process,
single-row requests taken in turn from the model's test rows, at each concurrency for
``--seconds`` after all users are spawned (``--reset-stats``). The servers alternate within a
round and the order reverses every round (A B C, C B A ...), so the load of a shared machine hits
them alike; the load generator shares the CPU with the servers. Reported per server and
concurrency: requests/s, p50 and p99 latency (locust's percentiles), failures, the server's
CPU ms per request (its process's user + system time over the cell) and, for ``manyheads serve``,
the mean rows per network call (its ``manyheads_batch_rows`` metric), as the mean over rounds;
``ratio`` = requests/s over the plain endpoint's at the same concurrency.

Targets: census ``serve`` >= 1.0x the plain endpoint's requests/s at every concurrency (judged
for ``serve`` and ``serve-batch`` alike); reviews ``serve-batch`` >= 3x the plain endpoint at
concurrency 32 with a p99 no higher.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

import manyheads as mh
from manyheads._output_file import atomic_write, check_output_file
from manyheads.builtin_datasets import load_dataset

HERE = Path(__file__).resolve().parent
SERVERS = ("plain", "serve", "serve-batch")


# -- the models --------------------------------------------------------------------------------
def census_run(directory: Path, *, quick: bool) -> None:
    """Train the census-income MMoE into ``directory`` (one epoch, seed 0)."""
    data = load_dataset("census-income", sample=True)
    options = {"tower": [16], "embed_dim": 8, "n_experts": 8, "expert_hidden": [32]}
    mh.fit(
        data.train.head(2000) if quick else data.train, tasks=list(data.tasks),
        inputs=data.inputs, valid=data.valid.head(2000), architecture="mmoe",
        model_options=options, epochs=1, batch_size=1024, lr=0.001, optimizer="adam", seed=0,
        output=directory,
    )  # fmt: skip


def reviews_run(directory: Path, *, n_train: int, max_length: int) -> None:
    """Train the MiniLM clothing-reviews model into ``directory`` (one epoch, seed 0)."""
    data = load_dataset("womens-clothing-reviews")
    encoder = {"max_length": max_length, "pooling": "mean"}
    options = {"encoder": "pretrained", "encoder_options": encoder, "hidden": [], "tower": [64]}
    mh.fit(
        data.train.head(n_train), tasks=list(data.tasks), inputs=data.inputs,
        valid=data.valid.head(256), model_options=options, epochs=1, batch_size=16, lr=1e-3,
        lr_encoder=1e-4, schedule="constant", seed=0, output=directory,
    )  # fmt: skip


def model_run(name: str, given: str | None, args: argparse.Namespace) -> Path:
    """The run directory of model ``name``: ``given``, or the cached one (trained if absent)."""
    if given:
        return Path(given)
    directory = Path(args.workdir) / (f"quick-{name}" if args.quick else name) / "run"
    if not (directory / "metrics.json").exists():
        began = time.perf_counter()
        directory.parent.mkdir(parents=True, exist_ok=True)
        if name == "census":
            census_run(directory, quick=args.quick)
        else:
            n_train = 32 if args.quick else args.reviews_train_rows
            reviews_run(directory, n_train=n_train, max_length=args.max_length)
        print(f"# trained {name} in {time.perf_counter() - began:.0f} s: {directory}", flush=True)
    return directory


def request_rows(name: str, run: Path, n_rows: int) -> list[dict[str, Any]]:
    """The first ``n_rows`` test rows of the model's dataset, input columns only, as JSON."""
    data = (
        load_dataset("census-income", sample=True)
        if name == "census"
        else load_dataset("womens-clothing-reviews")
    )
    assert data.test is not None
    inputs = list(mh.load(run).preprocessor.inputs)
    frame = data.test[[c for c in data.inputs if c in inputs]].head(n_rows)
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


# -- the servers -------------------------------------------------------------------------------
@dataclass
class Server:
    """One server process on 127.0.0.1."""

    name: str
    argv: list[str]
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path) -> None:
        """Start the process (stdout and stderr into ``log``)."""
        with log.open("wb") as out:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float, log: Path) -> float:
        """Seconds until ``GET /ready`` answers 200; exit if the process dies or times out."""
        began = time.perf_counter()
        while time.perf_counter() - began < timeout_s:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.name} exited ({self.process.returncode}):\n{tail(log)}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=2.0).status_code == 200:
                    return time.perf_counter() - began
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{self.name} not ready after {timeout_s:.0f} s:\n{tail(log)}")

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the process so far (Linux ``/proc``)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def tail(log: Path, n: int = 20) -> str:
    """The last ``n`` lines of ``log``."""
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def servers(name: str, run: Path, batch_options: list[str], kinds: list[str]) -> list[Server]:
    """The servers ``kinds`` (of :data:`SERVERS`) of one model, not started."""
    model = f"{name}={run}"
    serve = [sys.executable, "-m", "manyheads.cli.main", "serve", "--model", model]
    plain = [sys.executable, str(HERE / "_serve_plain.py"), "--model", model]
    out = []
    for server in kinds:
        port = free_port()
        argv = {"plain": plain, "serve": serve, "serve-batch": serve + batch_options}[server]
        out.append(Server(server, [*argv, "--host", "127.0.0.1", "--port", str(port)], port))
    return out


def warm_up(server: Server, model: str, rows: list[dict[str, Any]], n: int) -> None:
    """``n`` sequential single-row requests, then ``n`` more from 8 threads; all must be 200."""
    url = f"{server.url}/v1/models/{model}/predict"
    with httpx.Client(timeout=60.0) as client:

        def one(k: int) -> int:
            return client.post(url, json={"rows": [rows[k % len(rows)]]}).status_code

        codes = [one(k) for k in range(n)]
        with ThreadPoolExecutor(8) as pool:
            codes += list(pool.map(one, range(n)))
    if set(codes) != {200}:
        raise SystemExit(f"{server.name} answered {sorted(set(codes))} during the warm-up")


def batch_calls(server: Server, model: str) -> tuple[float, float] | None:
    """Rows and network calls so far, from ``manyheads_batch_rows`` of ``GET /metrics``
    (None for the plain endpoint, which has no metrics)."""
    if server.name == "plain":
        return None
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{server.url}/metrics", timeout=10.0).text
    values = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if family.name == "manyheads_batch_rows" and sample.labels.get("model") == model
    }
    return values.get("manyheads_batch_rows_sum", 0.0), values.get(
        "manyheads_batch_rows_count", 0.0
    )


# -- the load ----------------------------------------------------------------------------------
def locust(url: str, env: dict[str, str], users: int, seconds: float, prefix: Path) -> dict:
    """One headless locust run; the aggregated row of its ``_stats.csv``."""
    argv = [
        sys.executable, "-m", "locust", "-f", str(HERE / "_serve_locust.py"), "--headless",
        "-u", str(users), "-r", str(users), "-t", f"{seconds:g}s", "--host", url,
        "--reset-stats", "--only-summary", "--csv", str(prefix), "--loglevel", "ERROR",
        "--stop-timeout", "10",
    ]  # fmt: skip
    done = subprocess.run(argv, env=os.environ | env, capture_output=True, text=True, check=False)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():  # exit 1 only says some requests failed; no CSV says locust broke
        raise SystemExit(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    with stats.open(encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "rps": float(row["Requests/s"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
    }


def cell(server: Server, model: str, users: int, args: argparse.Namespace, tmp: Path) -> dict:
    """One server at one concurrency: locust's numbers and the server's CPU per request."""
    env = {"SERVE_BENCH_ROWS": str(tmp / f"{model}-rows.json"), "SERVE_BENCH_MODEL": model}
    prefix = tmp / f"{model}-{server.name}-{users}"
    cpu0, calls0 = server.cpu_seconds(), batch_calls(server, model)
    out = locust(server.url, env, users, args.seconds, prefix)
    # the CPU delta spans locust's start, spawn and stop too: a little over the measured window
    cpu, calls = server.cpu_seconds() - cpu0, batch_calls(server, model)
    out["server_cpu_ms"] = round(1e3 * cpu / max(out["requests"], 1), 3)
    if calls0 is not None and calls is not None:  # mean rows per network call (1: no batching)
        out["rows_per_call"] = round((calls[0] - calls0[0]) / max(calls[1] - calls0[1], 1), 2)
    out["load_1m"] = round(os.getloadavg()[0], 2)
    return {"model": model, "server": server.name, "users": users} | out


def bench_model(name: str, run: Path, args: argparse.Namespace, tmp: Path) -> list[dict]:
    """Start the model's three servers, measure every (round, concurrency, server), stop them."""
    rows = request_rows(name, run, args.n_rows)
    (tmp / f"{name}-rows.json").write_text(json.dumps(rows), encoding="utf-8")
    group = servers(name, run, args.batch_options.split(), args.servers)
    results: list[dict] = []
    try:
        for server in group:
            log = tmp / f"{name}-{server.name}.log"
            server.start(log)
            ready = server.wait_ready(args.ready_timeout, log)
            warm_up(server, name, rows, 10 if args.quick else 50)
            print(f"# {name} {server.name} ready in {ready:.1f} s: {server.argv}", flush=True)
        for k in range(args.rounds):
            for users in args.concurrency:
                for server in group if k % 2 == 0 else group[::-1]:
                    result = cell(server, name, users, args, tmp) | {"round": k}
                    print(json.dumps(result), flush=True)
                    results.append(result)
    finally:
        for server in group:
            server.stop()
    return results


# -- report ------------------------------------------------------------------------------------
def summarise(results: list[dict]) -> list[dict]:
    """The mean over rounds of each (model, server, concurrency), with the ratio to plain."""
    keys = dict.fromkeys((r["model"], r["users"], r["server"]) for r in results)
    out = []
    for model, users, server in keys:
        mine = [
            r for r in results if (r["model"], r["users"], r["server"]) == (model, users, server)
        ]
        entry: dict[str, Any] = {"model": model, "users": users, "server": server}
        for key in ("rps", "p50_ms", "p99_ms", "server_cpu_ms"):
            entry[key] = round(statistics.mean(r[key] for r in mine), 2)
        entry["rps_rounds"] = [r["rps"] for r in mine]
        if all("rows_per_call" in r for r in mine):
            entry["rows_per_call"] = round(statistics.mean(r["rows_per_call"] for r in mine), 2)
        entry["failures"] = sum(r["failures"] for r in mine)
        out.append(entry)
    for entry in out:
        plain = next(
            (e for e in out
             if (e["model"], e["users"], e["server"]) == (entry["model"], entry["users"], "plain")),
            None,
        )  # fmt: skip
        if plain is None:
            continue
        entry["ratio"] = round(entry["rps"] / plain["rps"], 3)
        entry["p99_ratio"] = round(entry["p99_ms"] / plain["p99_ms"], 3)
    return out


def verdict(summary: list[dict]) -> list[dict]:
    """The issue's two targets, against the summary."""
    out = []
    for e in (e for e in summary if "ratio" in e):
        if e["model"] == "census" and e["server"] != "plain":  # with and without batching
            target = f"census {e['server']} >= 1.0x plain requests/s"
            out.append({"target": target, "users": e["users"], "ratio": e["ratio"]}
                       | {"met": e["ratio"] >= 1.0})  # fmt: skip
        if e["model"] == "reviews" and e["server"] == "serve-batch" and e["users"] == 32:
            target = "reviews serve-batch >= 3x plain requests/s at 32, p99 no higher"
            met = e["ratio"] >= 3.0 and e["p99_ratio"] <= 1.0
            out.append({"target": target, "users": 32, "ratio": e["ratio"]}
                       | {"p99_ratio": e["p99_ratio"], "met": met})  # fmt: skip
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']}; {report['date']}; {report['rounds']} rounds of "
        f"{report['seconds']:g} s per cell; micro-batching: `{report['batch_options']}`",
        "",
        "| model | users | server | req/s (per round) | p50 ms | p99 ms | failures "
        "| server CPU ms/req | rows/call | req/s vs plain |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in report["summary"]:
        rounds = ", ".join(f"{v:.0f}" for v in e["rps_rounds"])
        ratio = f"**{e['ratio']:.2f}×**" if "ratio" in e else "—"
        lines.append(
            f"| {e['model']} | {e['users']} | {e['server']} | {e['rps']:.1f} ({rounds}) "
            f"| {e['p50_ms']:.0f} | {e['p99_ms']:.0f} | {e['failures']} "
            f"| {e['server_cpu_ms']:.2f} | {e.get('rows_per_call', '—')} | {ratio} |"
        )
    lines += ["", "| target | users | ratio | met? |", "|---|---:|---:|---|"]
    for v in report["targets"]:
        extra = f" (p99 {v['p99_ratio']:.2f}× plain)" if "p99_ratio" in v else ""
        met = "**met**" if v["met"] else "**missed**"
        lines.append(f"| {v['target']} | {v['users']} | {v['ratio']:.2f}×{extra} | {met} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--models", default="census,reviews")
    parser.add_argument("--run-census", default=None, help="an existing census-income run")
    parser.add_argument("--run-reviews", default=None, help="an existing MiniLM reviews run")
    parser.add_argument("--workdir", default="/work/bench-runs/serve", help="trained-run cache")
    parser.add_argument("--reviews-train-rows", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=128, help="MiniLM pieces per review")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per cell")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="a subset of " + ", ".join(SERVERS)
    )
    parser.add_argument("--n-rows", type=int, default=1000, help="distinct request rows")
    parser.add_argument("--batch-options", default="--max-batch-size 32 --max-wait-ms 5")
    parser.add_argument("--ready-timeout", type=float, default=300.0)
    parser.add_argument("--quick", action="store_true", help="tiny models, 3 s cells, 1 round")
    parser.add_argument("--json", default=None, help="write the report to this new file")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.servers = args.servers.split(",")
    if not set(args.servers) <= set(SERVERS):
        parser.error(f"--servers takes names from {', '.join(SERVERS)}; got {args.servers}")
    if args.quick:
        args.seconds, args.rounds, args.n_rows = 3.0, 1, 50
    return args


def main(argv: list[str] | None = None) -> int:
    """Train or load the models, measure every server, print JSON (and Markdown)."""
    args = parse_args(argv)
    if not os.environ.get("MANYHEADS_DATA"):
        raise SystemExit("Set MANYHEADS_DATA to the shared data folder (../shared/data).")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    out = check_output_file(args.json, overwrite=False, option="--json") if args.json else None
    began = time.perf_counter()
    given = {"census": args.run_census, "reviews": args.run_reviews}
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        for name in args.models.split(","):
            if name not in given:
                raise SystemExit(f"Unknown model {name!r}: census, reviews.")
            results += bench_model(name, model_run(name, given[name], args), args, Path(tmp))
    summary = summarise(results)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, no GPU, Python "
        f"{platform.python_version()}, pandas {pd.__version__}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "batch_options": args.batch_options,
        "wall_s": round(time.perf_counter() - began, 1),
        "results": results,
        "summary": summary,
        "targets": verdict(summary),
    }
    print(json.dumps(report), flush=True)
    if out is not None:
        with atomic_write(out) as path:
            path.write_text(json.dumps(report, indent=1), encoding="utf-8")
    if args.markdown:
        print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
