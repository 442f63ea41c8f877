"""Benchmark of ``manyheads monitor`` on the full replay (issue 20 targets).

1. Timing: one cycle that finds 1,000 new articles (crawl -> score -> detect -> alert ->
   dashboard), each repeat into a fresh SQLite store. Target: under 60 s.
2. Replay: the whole replay (48 one-hour buckets), one cycle per bucket as the clock advances.
   Targets: the planted spike alerted within one bucket of its start, no false alert over the
   rest of the replay, every article scored once.
3. Robustness (no crawl): the same detector on the model's predictions for the replay drawn
   with seed 0 (the one above) and other seeds, to show how much the outcome depends on the
   draw.

Run from the repository root: ``python bench/monitor.py --json bench/results/monitor.json``
(``--run DIR`` reuses a trained run; otherwise the demo model is trained first, not timed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from manyheads.monitor import (  # noqa: E402
    ReplaySite,
    Scenario,
    SimClock,
    build_scenario,
    parse_monitor_config,
    serve_replay,
)
from manyheads.monitor._cycle import Monitor, bucket_rows  # noqa: E402
from manyheads.monitor._demo import train_demo_model  # noqa: E402


def monitor_raw(url: str, run: Path, store: str) -> dict[str, Any]:
    """The config of examples/news-monitoring/monitor.yaml, pointed at ``url``."""
    import yaml

    raw: dict[str, Any] = yaml.safe_load(
        (ROOT / "examples/news-monitoring/monitor.yaml").read_text()
    )
    raw["crawl"]["start_urls"] = [f"{url}/latest"]
    raw.update(store=store, dashboard=None)
    raw["model"]["run"] = str(run)
    raw.pop("alerts", None)
    return raw


def time_1000(scenario: Scenario, run: Path, repeats: int) -> dict[str, Any]:
    """One cycle that finds the first 1,000 articles, in a fresh store each time."""
    clock = SimClock(scenario.articles[999].published)
    results = []
    with serve_replay(ReplaySite(scenario, clock)) as url:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                raw = monitor_raw(url, run, f"sqlite:///{tmp}/m.db")
                raw["dashboard"] = f"{tmp}/dashboard.html"
                monitor = Monitor(parse_monitor_config(raw), log=lambda m: None)
                report = monitor.cycle()
                monitor.close()
            assert report.n_scored == 1000, report
            results.append(report.seconds)
            print(f"1000 new articles: {report}", file=sys.stderr)
    totals = [r["total"] for r in results]
    return {"seconds": results, "total_median": statistics.median(totals)}


def replay(scenario: Scenario, run: Path) -> dict[str, Any]:
    """The whole replay, one cycle per bucket; the targets judged against the ground truth."""
    clock = SimClock(scenario.start)
    cycles = []
    with tempfile.TemporaryDirectory() as tmp, serve_replay(ReplaySite(scenario, clock)) as url:
        monitor = Monitor(parse_monitor_config(monitor_raw(url, run, f"sqlite:///{tmp}/m.db")))
        for b in range(1, scenario.n_buckets + 1):
            clock.set(scenario.bucket_start(b))
            report = monitor.cycle()
            cycles.append(
                {
                    "bucket": b,
                    "n_scored": report.n_scored,
                    **report.seconds,
                    "alerts": [a["topic"] for a in report.alerts],
                }
            )
        articles, alerts = monitor.db.article_rows(), monitor.db.alert_rows()
        monitor.close()
    spike = [
        a
        for a in alerts
        if a["topic"] == scenario.spike_topic
        and scenario.bucket_of(a["bucket_start"])
        in range(scenario.spike_start, scenario.spike_start + scenario.spike_buckets)
    ]
    lag = scenario.bucket_of(spike[0]["bucket_start"]) - scenario.spike_start if spike else None
    false = [
        {
            "topic": a["topic"],
            "bucket": scenario.bucket_of(a["bucket_start"]),
            "share": a["share"],
            "count": a["count"],
        }
        for a in alerts
        if not spike or a["id"] != spike[0]["id"]
    ]
    return {
        "n_articles": len(scenario.articles),
        "n_stored": len(articles),
        "scored_once": all(a["n_scored"] == 1 for a in articles),
        "spike_lag_buckets": lag,
        "false_alerts": false,
        "cycle_seconds_median": statistics.median(c["total"] for c in cycles),
        "cycles": cycles,
    }


def robustness(data: Path, run: Path, seeds: list[int]) -> list[dict[str, Any]]:
    """Detection on the model's predictions (no crawl) for replays of other seeds."""
    import pandas as pd

    from manyheads.workflow._run import load

    model = load(run)
    config = parse_monitor_config(monitor_raw("http://127.0.0.1", run, "sqlite://"))
    out = []
    for seed in seeds:
        s = build_scenario(data, seed=seed)
        heads = model.predict(pd.DataFrame({"text": [a.headline for a in s.articles]}))
        bodies = model.predict(pd.DataFrame({"text": [a.body for a in s.articles]}))
        scored = [
            {
                "url": str(a.id),
                "published_at": a.published,
                "topic": bodies.topic[i],
                "negative": heads.sentiment[i] == "Bearish",
            }
            for i, a in enumerate(s.articles)
        ]
        _, fired = bucket_rows(scored, config)
        hits = [
            s.bucket_of(r["bucket_start"]) - s.spike_start
            for r in fired
            if r["topic"] == s.spike_topic
            and 0 <= s.bucket_of(r["bucket_start"]) - s.spike_start < s.spike_buckets
        ]
        out.append(
            {
                "seed": seed,
                "spike_lag_buckets": hits[0] if hits else None,
                "false_alerts": len(fired) - (1 if hits else 0),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        default=os.path.join(
            os.environ.get("MANYHEADS_DATA", "../shared/data"), "twitter-financial-news"
        ),
    )
    parser.add_argument("--run", help="a trained run (default: train the demo model)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument(
        "--parts", default="time,replay,robustness", help="which parts to run (comma-separated)"
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    data = Path(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    started = time.perf_counter()
    run = Path(args.run) if args.run else train_demo_model(data, work / "run")
    train_s = time.perf_counter() - started
    metrics = json.loads((run / "metrics.json").read_text())["tasks"]
    scenario = build_scenario(data)
    truth = scenario.truth()
    spike = range(scenario.spike_start, scenario.spike_start + scenario.spike_buckets)
    n, x = (
        sum(v)
        for v in zip(*(truth.get((scenario.spike_topic, b), (0, 0)) for b in spike), strict=True)
    )
    rest = [v for (t, b), v in truth.items() if b not in spike]
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "model": {
            "run": str(run),
            "train_seconds": round(train_s, 1),
            "test": {
                t: {"accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
                for t, m in metrics.items()
            },
        },
        "scenario": {
            "articles": len(scenario.articles),
            "buckets": scenario.n_buckets,
            "spike_topic": scenario.spike_topic,
            "spike_start": scenario.spike_start,
            "spike_true_bearish_share": x / n,
            "rest_true_bearish_share": sum(v[1] for v in rest) / sum(v[0] for v in rest),
        },
    }
    parts = args.parts.split(",")
    if "time" in parts:
        result["time_1000"] = time_1000(scenario, run, args.repeats)
    if "replay" in parts:
        result["replay"] = replay(scenario, run)
    if "robustness" in parts:
        result["robustness"] = robustness(data, run, [int(s) for s in args.seeds.split(",")])
    result["load_average_end"] = os.getloadavg()
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text)
    summary = {k: v for k, v in result.items() if k != "replay"}
    if "replay" in result:
        summary["replay"] = {k: v for k, v in result["replay"].items() if k != "cycles"}
    print(json.dumps(summary, indent=2, default=str))


if __name__ == "__main__":
    main()
