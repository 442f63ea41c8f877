"""``manyheads monitor MONITOR.yaml [--once | --every 5m]`` and ``manyheads monitor serve
MONITOR.yaml``: watch news sources, alert on negative spikes, show the dashboard
(see docs/monitoring.md)."""

from __future__ import annotations

import argparse
import sys

from manyheads.cli._args import add_listen, add_yaml_config
from manyheads.cli._common import say

__all__ = ["DESCRIPTION", "HELP", "add_arguments", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "crawl news on a schedule, score it, alert on negative spikes per topic"
#: What ``manyheads monitor --help`` says before the arguments.
DESCRIPTION = (
    "Each cycle recrawls the sources (only new or changed pages), scores new "
    "articles with a trained topic + sentiment run, updates the per-topic control charts "
    "and posts alerts. `manyheads monitor serve MONITOR.yaml` serves the dashboard."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads monitor``, in the order ``--help`` lists them."""
    add_yaml_config(
        p,
        "MONITOR",
        "the monitor config (or: serve)",
        "detect.sigma=2.5",
        "; after 'serve', the first is the config",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument("--once", action="store_true", help="run one cycle and exit (for cron)")
    when.add_argument("--every", metavar="DURATION", help="run a cycle every DURATION (5m, 1h)")
    add_listen(
        p,
        port=8050,
        host_help="serve: address (default 127.0.0.1)",
        port_help="serve: port (default 8050)",
    )


def run(args: argparse.Namespace) -> int:
    """Run cycles, or serve the dashboard."""
    from manyheads.cli.crawl import require_crawl_extra
    from manyheads.errors import ConfigError
    from manyheads.monitor._config import load_monitor_config, parse_duration

    require_crawl_extra()
    serve = args.config == "serve"
    if serve:
        if not args.overrides:
            raise ConfigError(
                ["'serve' needs the monitor config: manyheads monitor serve MONITOR.yaml"]
            )
        args.config, args.overrides = args.overrides[0], args.overrides[1:]
    config = load_monitor_config(args.config, args.overrides)
    if serve:
        return _serve(config, args)
    every = config.every_s
    if args.every is not None:
        every = parse_duration(args.every)
        if every is None:
            raise ConfigError(
                [f"'--every' must be a duration such as 5m or 1h. Got {args.every!r}."]
            )
    if not args.once and every is None:
        raise ConfigError(
            [
                "give --once (one cycle, for cron) or --every DURATION (or 'every: 5m' in "
                "the config)."
            ],
            source=args.config,
        )
    from manyheads.monitor._cycle import Monitor

    try:
        monitor = Monitor(config, log=say)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=args.config) from None
    try:
        if args.once:
            print(monitor.cycle())
        else:
            from manyheads.monitor._schedule import run_every

            assert every is not None
            run_every(monitor, every, log=say)
    finally:
        monitor.close()
    return 0


def _serve(config: object, args: argparse.Namespace) -> int:
    from manyheads.monitor._config import MonitorConfig
    from manyheads.monitor._serve import make_server

    assert isinstance(config, MonitorConfig)
    try:
        server = make_server(config, host=args.host, port=args.port)
    except OSError as exc:
        from manyheads.errors import DataError

        raise DataError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}. Choose another "
            "--port."
        ) from None
    host, port = server.server_address[:2]
    print(
        f"monitor serve: dashboard on http://{host!s}:{port} (Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
