"""Run the news-monitoring replay end to end and open the dashboard.

    python examples/news-monitoring/run_replay.py            # from the repository root

1. Trains the small demo model into runs/news-demo (once; ``--run DIR`` uses yours, e.g. the
   MiniLM run of model.yaml).
2. Builds the replay from the held-out tweets (``$MANYHEADS_DATA/twitter-financial-news``):
   48 one-hour buckets, a planted spike of truly Bearish Earnings articles in buckets 36-38.
3. Serves the replay site on 127.0.0.1:8765 and runs monitor.yaml one cycle per bucket while the
   simulated clock advances (the site's clock, not yours).
4. Prints the alerts against the ground truth and opens news-dashboard.html.

``--serve`` only serves the site, its clock running ``--speed`` times faster than real time,
so that ``manyheads monitor monitor.yaml --every 30s`` and ``manyheads monitor serve
monitor.yaml`` can be run by hand in other terminals.

Everything is written into ``--workdir`` (default news-monitoring-run), a folder this script
creates and marks; it refuses a folder it did not create.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import webbrowser
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
MARKER = ".manyheads-monitor-demo"
#: What this script writes into the work folder (all it ever deletes, on a rerun).
OURS = (
    "news-monitor.db",
    "news-monitor.db-wal",
    "news-monitor.db-shm",
    "news-dashboard.html",
    "monitor.yaml",
)


def _workdir(path: Path) -> Path:
    if path.exists() and any(path.iterdir()) and not (path / MARKER).exists():
        sys.exit(f"run_replay: {path} exists and was not made by this script; choose --workdir.")
    path.mkdir(parents=True, exist_ok=True)
    (path / MARKER).write_text("made by examples/news-monitoring/run_replay.py\n")
    for name in OURS:
        (path / name).unlink(missing_ok=True)  # a rerun starts the replay from its beginning
    return path


def _serve_forever(site_cls: type, scenario: object, speed: float, port: int) -> None:
    from manyheads.monitor import SimClock, serve_replay

    clock = SimClock(scenario.start)  # type: ignore[attr-defined]
    with serve_replay(site_cls(scenario, clock), port=port) as url:
        print(f"replay site on {url}/latest (clock x{speed:g}; Ctrl-C stops)", flush=True)
        try:
            while True:
                time.sleep(1.0)
                clock.advance(speed)
        except KeyboardInterrupt:
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = (
        Path(os.environ.get("MANYHEADS_DATA", "../shared/data")) / "twitter-financial-news"
    )
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("--run", type=Path, help="a trained run (default: train runs/news-demo)")
    parser.add_argument("--workdir", type=Path, default=Path("news-monitoring-run"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--serve", action="store_true", help="only serve the site")
    parser.add_argument("--speed", type=float, default=120.0, help="--serve: clock speed-up")
    parser.add_argument("--no-open", action="store_true", help="do not open the dashboard")
    parser.add_argument(
        "--small", action="store_true", help="a 10-bucket replay (the tests' scenario), for a try"
    )
    args = parser.parse_args()

    from manyheads.monitor import (
        ReplaySite,
        SimClock,
        build_scenario,
        parse_monitor_config,
        serve_replay,
    )
    from manyheads.monitor._cycle import Monitor

    knobs = {"n_buckets": 10, "per_bucket": 30, "spike_start": 7, "spike_buckets": 2}
    scenario = build_scenario(args.data, **(knobs if args.small else {}))
    if args.serve:
        _serve_forever(ReplaySite, scenario, args.speed, args.port)
        return 0
    run = args.run
    if run is None:
        run = Path("runs/news-demo")
        if not (run / "model.json").exists():
            from manyheads.monitor._demo import train_demo_model

            print("training the demo model into runs/news-demo (about a minute) ...", flush=True)
            train_demo_model(args.data, run)
    work = _workdir(args.workdir)
    raw = yaml.safe_load((HERE / "monitor.yaml").read_text())
    clock = SimClock(scenario.start)
    with serve_replay(ReplaySite(scenario, clock), port=args.port) as url:
        raw["crawl"]["start_urls"] = [f"{url}/latest"]
        raw["model"]["run"] = str(run.resolve())
        raw["store"] = f"sqlite:///{(work / 'news-monitor.db').resolve()}"
        raw["dashboard"] = str((work / "news-dashboard.html").resolve())
        (work / "monitor.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        monitor = Monitor(parse_monitor_config(raw))
        for b in range(1, scenario.n_buckets + 1):
            clock.set(scenario.bucket_start(b))
            report = monitor.cycle()
            print(f"[{clock.now():%Y-%m-%d %H:%M}] {report}", flush=True)
        alerts = monitor.db.alert_rows()
        monitor.close()
    spike = f"{scenario.spike_topic!r} in buckets {scenario.spike_start}-"
    spike += f"{scenario.spike_start + scenario.spike_buckets - 1}"
    print(f"\nplanted: {spike}; alerts:")
    for a in alerts:
        print(
            f"  bucket {scenario.bucket_of(a['bucket_start'])}: {a['topic']!r} share "
            f"{a['share']:.2f} > limit {a['limit']:.2f} ({a['count']} articles)"
        )
    page = (work / "news-dashboard.html").resolve()
    print(f"dashboard: {page}")
    if not args.no_open:
        webbrowser.open(page.as_uri())
    return 0


if __name__ == "__main__":
    sys.exit(main())
