"""Benchmark of ``manyheads monitor`` on the full replay (issue 20 targets).

1. Timing: one cycle that finds 1,000 new articles (crawl -> score -> detect -> alert ->
   dashboard), each repeat into a fresh SQLite store. Target: under 60 s.
2. Replay: the whole replay (48 one-hour buckets), one cycle per bucket as the clock advances.
   Targets: the planted spike alerted within one bucket of its start, no false alert over the
   rest of the replay, every article scored once.
3. Crawl cost (no model): one cycle's crawl after one more bucket is published, over a store
   that already holds N articles: requests sent and seconds, reading the feed and sitemap
   (``follow.feeds`` / ``follow.sitemaps``) vs following the ``/latest`` listing links.
4. Robustness (no crawl): the same detector on the model's predictions for the replay drawn
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
from datetime import UTC, datetime, timedelta
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


def monitor_raw(url: str, run: Path, store: str, *, links: bool = False) -> dict[str, Any]:
    """The config of examples/news-monitoring/monitor.yaml, pointed at ``url``.

    ``links``: follow the ``/latest`` listing instead of reading the feed and sitemap.
    """
    import yaml

    raw: dict[str, Any] = yaml.safe_load(
        (ROOT / "examples/news-monitoring/monitor.yaml").read_text()
    )
    follow = raw["crawl"]["follow"]
    for key in ("feeds", "sitemaps"):
        follow[key] = [u.replace("http://127.0.0.1:8765", url) for u in follow.get(key, [])]
    if links:
        raw["crawl"]["start_urls"] = [f"{url}/latest"]
        raw["crawl"]["follow"] = {"allow": ["/latest", r"/article/\d+$"]}
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


class _CountingSite(ReplaySite):
    """The replay site, counting the requests it answers."""

    n_requests = 0

    def get(self, path: str, headers: dict[str, str]) -> Any:
        self.n_requests += 1  # one server thread per request; the GIL keeps += whole enough
        return super().get(path, headers)


def crawl_cost(scenario: Scenario, stored: list[int]) -> list[dict[str, Any]]:
    """Per store size N and mode: the requests and seconds of the crawl that finds one new
    bucket of articles (the store filled by a first crawl of the first N articles)."""
    from manyheads.monitor._cycle import crawl_once

    out = []
    for n in stored:
        start = scenario.articles[n - 1].published
        after = sum(a.published <= start + timedelta(hours=1) for a in scenario.articles) - n
        for mode in ("feed", "links"):
            clock = SimClock(start)
            site = _CountingSite(scenario, clock)
            with tempfile.TemporaryDirectory() as tmp, serve_replay(site) as url:
                raw = monitor_raw(url, Path(tmp), f"sqlite:///{tmp}/m.db", links=mode == "links")
                crawl = parse_monitor_config(raw).crawl
                crawl_once(crawl)  # fill the store with the first N articles
                clock.advance(3600)
                site.n_requests = 0
                started = time.perf_counter()
                summary = crawl_once(crawl)
                seconds = time.perf_counter() - started
            row = {"stored": n, "new": after, "mode": mode, "requests": site.n_requests}
            row |= {"records": summary["records"], "seconds": round(seconds, 2)}
            print(f"crawl cost: {row}", file=sys.stderr)
            out.append(row)
    return out


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
        "--stored", default="500,1000,1500", help="store sizes of the crawl-cost part"
    )
    parser.add_argument(
        "--parts",
        default="time,replay,crawl,robustness",
        help="which parts to run (comma-separated)",
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    data = Path(args.data)
    work = Path(tempfile.mkdtemp(prefix="bench-monitor-"))
    parts = args.parts.split(",")
    started = time.perf_counter()
    if args.run or set(parts) - {"crawl"}:  # the crawl-cost part needs no model
        run = Path(args.run) if args.run else train_demo_model(data, work / "run")
        metrics = json.loads((run / "metrics.json").read_text())["tasks"]
    else:
        run, metrics = work / "no-model", {}
    train_s = time.perf_counter() - started
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
    if "time" in parts:
        result["time_1000"] = time_1000(scenario, run, args.repeats)
    if "replay" in parts:
        result["replay"] = replay(scenario, run)
    if "crawl" in parts:
        result["crawl_cost"] = crawl_cost(scenario, [int(n) for n in args.stored.split(",")])
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
