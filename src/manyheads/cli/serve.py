"""``manyheads serve [RUN] --model NAME=PATH ...``: an HTTP prediction service (docs/serving.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from manyheads.cli._args import add_engine, add_flag, add_listen, add_run_dir

__all__ = ["HELP", "add_arguments", "model_paths", "run"]


#: What ``manyheads --help`` says of the verb.
HELP = "serve runs over HTTP: predictions as JSON, health, metrics, OpenAPI"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``manyheads serve``, in the order ``--help`` lists them."""
    add_run_dir(p, "a run directory or model bundle, served under its folder's name", optional=True)
    p.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="serve the run in PATH as NAME (repeatable: several models at once)",
    )
    add_listen(
        p,
        port=8000,
        host_help="address to listen on (default: loopback)",
        port_help="port to listen on",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="server processes (each loads every model)"
    )
    add_engine(
        p,
        "run the networks in PyTorch, or each RUN/model.onnx (manyheads export) in onnxruntime",
    )
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=1,
        help="rows of concurrent requests predicted in one call (1: each request alone)",
    )
    p.add_argument(
        "--max-wait-ms",
        type=float,
        default=2.0,
        help="how long a micro-batch waits for more requests",
    )
    p.add_argument("--max-rows", type=int, default=1000, help="rows per request (more: 413)")
    p.add_argument(
        "--max-body-bytes", type=int, default=1_048_576, help="bytes per request body (more: 413)"
    )
    p.add_argument(
        "--timeout-s", type=float, default=30.0, help="seconds a request may wait (more: 504)"
    )
    add_flag(p, "--access-log", "log every request (uvicorn)")


def model_paths(run_dir: str | None, models: list[str]) -> dict[str, str]:
    """Name -> path of every model to serve, from ``RUN`` and the ``--model`` options.

    Raises:
        ConfigError: listing every malformed, duplicated or missing model option at once.

    Example:
        >>> model_paths("runs/census", ["text=runs/reviews"])
        {'census': 'runs/census', 'text': 'runs/reviews'}
    """
    from manyheads.errors import ConfigError

    pairs: list[tuple[str, str]] = []
    problems: list[str] = []
    if run_dir is not None:
        pairs.append((Path(run_dir).resolve().name, run_dir))
    for option in models:
        name, sep, path = option.partition("=")
        if not sep or not name or not path:
            problems.append(f"--model {option!r}: expected NAME=PATH, e.g. --model census=runs/c")
            continue
        pairs.append((name, path))
    from manyheads.serve._app import NAME_PATTERN

    seen: dict[str, str] = {}
    for name, path in pairs:
        if not NAME_PATTERN.fullmatch(name):
            problems.append(
                f"the model name {name!r} must be 1-64 letters, digits, '_', '.' or '-' (it is "
                "part of the URL /v1/models/NAME/predict); name it with --model NAME=PATH."
            )
        if name in seen:
            problems.append(
                f"the model name '{name}' is given twice ({seen[name]} and {path}); name each "
                "model once with --model NAME=PATH."
            )
        seen.setdefault(name, path)
    if not pairs and not problems:
        problems.append("no model to serve: give a RUN folder or --model NAME=PATH.")
    if problems:
        raise ConfigError(problems)
    return seen


def run(args: argparse.Namespace) -> int:
    """Check the options, load every model, then serve until SIGINT/SIGTERM."""
    from dataclasses import fields

    from manyheads.errors import ConfigError
    from manyheads.serve import ServeSettings, serve

    paths = model_paths(args.run_dir, args.model)
    problems = []
    if not 1 <= args.workers <= 64:
        problems.append(f"--workers must be between 1 and 64; got {args.workers}.")
    if not 0 <= args.port <= 65535:
        problems.append(f"--port must be between 0 and 65535; got {args.port}.")
    if problems:
        raise ConfigError(problems)
    # each field of the settings is the option of the same name
    settings = ServeSettings(**{f.name: getattr(args, f.name) for f in fields(ServeSettings)})
    serve(
        paths,
        settings,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
    )
    return 0
