"""What each key of ``monitor.yaml`` accepts, and the readers that check one section each.

The keys are documented in ``docs/monitoring.md``. Each reader appends every problem it finds to
``problems`` and returns what is valid, so that :func:`~._config.parse_monitor_config` reports
them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError
from manyheads.monitor._specs import AlertSpec, DetectSpec, ModelSpec

__all__ = [
    "TOP",
    "check_unknown",
    "parse_duration",
    "read_alerts",
    "read_crawl",
    "read_detect",
    "read_model",
    "str_pairs",
]

METHODS = ("pchart", "ewma")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: object) -> float | None:
    """Seconds of ``"30s"``, ``"5m"``, ``"1h"``, ``"1d"`` or a plain number; None if invalid.

    Example:
        >>> parse_duration("5m"), parse_duration("1.5h"), parse_duration(10), parse_duration("x")
        (300.0, 5400.0, 10.0, None)
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return float(text) if text > 0 else None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text))
    if match is None or float(match.group(1)) <= 0:
        return None
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


TOP = ("crawl", "store", "model", "detect", "alerts", "fields", "dashboard", "every")
_MODEL = ("run", "topic_task", "sentiment_task", "negative_class", "inputs", "topic_inputs")
_DETECT = {
    "bucket": "duration",
    "method": "method",
    "min_count": "int1",
    "warmup_buckets": "int1",
    "baseline_buckets": "int1",
    "sigma": "pos",
    "ewma_lambda": "unit",
    "hold": "int1",
    "cooldown": "int0",
}
_ALERTS = ("webhook", "timeout_s", "top_headlines")


def check_unknown(
    where: str, raw: Mapping[str, Any], valid: tuple[str, ...], problems: list[str]
) -> None:
    for key in raw:
        if key not in valid:
            problems.append(
                f"unknown key '{where}{key}'. Valid keys: {', '.join(valid)}."
                f"{did_you_mean(str(key), list(valid))}"
            )


def _mapping(name: str, raw: object, problems: list[str]) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append(f"'{name}' must be a mapping. Got {raw!r} instead.")
        return {}
    return raw


def str_pairs(name: str, raw: object, problems: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = _mapping(name, raw, problems)
    bad = [k for k, v in pairs.items() if not isinstance(v, str) or not v]
    if bad:
        problems.append(
            f"'{name}' maps names to article fields (strings), e.g. {{text: headline}}. "
            f"Got {dict(pairs)!r} instead."
        )
        return ()
    return tuple((str(k), str(v)) for k, v in pairs.items())


def read_model(raw: object, problems: list[str]) -> ModelSpec:
    model = _mapping("model", raw, problems)
    check_unknown("model.", model, _MODEL, problems)
    run = model.get("run")
    if not isinstance(run, str) or not run:
        problems.append(
            "'model.run' must name a trained manyheads run directory or bundle, "
            f"e.g. run: runs/news. Got {run!r} instead."
        )
        run = ""
    kwargs: dict[str, Any] = {}
    for key in ("topic_task", "sentiment_task", "negative_class"):
        if key in model:
            value = model[key]
            if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
                problems.append(f"'model.{key}' must be a name. Got {value!r} instead.")
            else:
                kwargs[key] = str(value)
    if "inputs" in model:
        kwargs["inputs"] = str_pairs("model.inputs", model["inputs"], problems)
        if not kwargs["inputs"]:
            problems.append("'model.inputs' must name at least one input, e.g. {text: headline}.")
    if "topic_inputs" in model:
        kwargs["topic_inputs"] = str_pairs("model.topic_inputs", model["topic_inputs"], problems)
    return ModelSpec(run=run, **kwargs)


def _detect_value(key: str, kind: str, value: object, problems: list[str]) -> object:
    where = f"The 'detect.{key}' option of the monitor config"
    if kind == "duration":
        seconds = parse_duration(value)
        if seconds is None:
            problems.append(f"{where} must be a duration such as 1h, 15m or 30s. Got {value!r}.")
        return seconds
    if kind == "method":
        if value not in METHODS:
            problems.append(
                f"{where} must be one of {', '.join(METHODS)}. Got {value!r} instead."
                f"{did_you_mean(str(value), list(METHODS))}"
            )
        return value
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind in ("int0", "int1"):
        low = int(kind[-1])
        if not is_int or int(str(value)) < low:
            problems.append(f"{where} must be an int >= {low}. Got {value!r} instead.")
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "pos" and not (number and float(str(value)) > 0):
        problems.append(f"{where} must be a float > 0. Got {value!r} instead.")
    if kind == "unit" and not (number and 0 < float(str(value)) <= 1):
        problems.append(f"{where} must be a float in (0, 1]. Got {value!r} instead.")
    return value


def read_detect(raw: object, problems: list[str]) -> DetectSpec:
    detect = _mapping("detect", raw, problems)
    check_unknown("detect.", detect, tuple(_DETECT), problems)
    kwargs: dict[str, Any] = {}
    for key, kind in _DETECT.items():
        if key in detect:
            value = _detect_value(key, kind, detect[key], problems)
            kwargs["bucket_s" if key == "bucket" else key] = value
    return DetectSpec(**kwargs)


def read_alerts(raw: object, problems: list[str]) -> AlertSpec:
    alerts = _mapping("alerts", raw, problems)
    check_unknown("alerts.", alerts, _ALERTS, problems)
    hook = alerts.get("webhook")
    if hook is not None and not (isinstance(hook, str) and re.match(r"https?://", hook)):
        problems.append(f"'alerts.webhook' must be an http(s) URL. Got {hook!r} instead.")
    timeout = alerts.get("timeout_s", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        problems.append(f"'alerts.timeout_s' must be a float > 0. Got {timeout!r} instead.")
    top = alerts.get("top_headlines", 5)
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        problems.append(f"'alerts.top_headlines' must be an int >= 0. Got {top!r} instead.")
    return AlertSpec(
        webhook=hook,
        timeout_s=float(timeout) if not problems else 5.0,
        top_headlines=top if isinstance(top, int) else 5,
    )


def read_crawl(raw: object, store: str, base: Path | None, problems: list[str]) -> dict[str, Any]:
    if isinstance(raw, str):
        from manyheads.config._yaml import read_yaml_file

        path = Path(raw) if base is None or Path(raw).is_absolute() else base / raw
        raw = read_yaml_file(path, what="crawl config")
    if not isinstance(raw, Mapping):
        problems.append(
            "'crawl' must be a crawl config (a mapping, see docs/crawl.md) or the path of one. "
            f"Got {raw!r} instead."
        )
        return {}
    crawl = dict(raw)
    if "store" in crawl:
        problems.append(
            "'crawl.store' is set by the monitor's 'store' (one database holds the crawl and "
            "the monitor); remove it from the crawl section."
        )
    crawl["store"] = store
    from manyheads.crawl import parse_config

    try:
        parse_config(crawl)
    except ConfigError as exc:
        problems.extend(f"crawl: {p}" for p in exc.problems)
    return crawl
