"""``monitor.yaml`` -> checked, frozen dataclasses (every problem reported at once).

The keys are documented in ``docs/monitoring.md``. The ``crawl`` section is a crawl config
(``docs/crawl.md``) checked by :func:`manyheads.crawl.parse_config`; its ``store`` is the
monitor's ``store``, so the crawl's pages and the monitor's tables share one database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manyheads._registry import did_you_mean
from manyheads.errors import ConfigError

__all__ = [
    "AlertSpec",
    "DetectSpec",
    "ModelSpec",
    "MonitorConfig",
    "load_monitor_config",
    "parse_duration",
    "parse_monitor_config",
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


@dataclass(frozen=True)
class ModelSpec:
    """The trained run and how articles feed it."""

    run: str
    topic_task: str = "topic"
    sentiment_task: str = "sentiment"
    negative_class: str = "Bearish"
    inputs: tuple[tuple[str, str], ...] = (("text", "headline"),)
    topic_inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DetectSpec:
    """Per-topic detection on the negative share per time bucket."""

    bucket_s: float = 3600.0
    method: str = "pchart"
    min_count: int = 10
    warmup_buckets: int = 4
    baseline_buckets: int = 24
    sigma: float = 3.0
    ewma_lambda: float = 0.3
    hold: int = 1
    cooldown: int = 3


@dataclass(frozen=True)
class AlertSpec:
    """Where alerts go besides the log and the alert history table."""

    webhook: str | None = None
    timeout_s: float = 5.0
    top_headlines: int = 5


@dataclass(frozen=True)
class MonitorConfig:
    """A whole monitor. Build it with :func:`load_monitor_config`."""

    crawl: dict[str, Any]
    store: str
    model: ModelSpec
    detect: DetectSpec = field(default_factory=DetectSpec)
    alerts: AlertSpec = field(default_factory=AlertSpec)
    fields: tuple[tuple[str, str], ...] = (("headline", "headline"), ("published", "published"))
    dashboard: str | None = None
    every_s: float | None = None


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


def _unknown(
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


def _str_pairs(name: str, raw: object, problems: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = _mapping(name, raw, problems)
    bad = [k for k, v in pairs.items() if not isinstance(v, str) or not v]
    if bad:
        problems.append(
            f"'{name}' maps names to article fields (strings), e.g. {{text: headline}}. "
            f"Got {dict(pairs)!r} instead."
        )
        return ()
    return tuple((str(k), str(v)) for k, v in pairs.items())


def _read_model(raw: object, problems: list[str]) -> ModelSpec:
    model = _mapping("model", raw, problems)
    _unknown("model.", model, _MODEL, problems)
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
        kwargs["inputs"] = _str_pairs("model.inputs", model["inputs"], problems)
        if not kwargs["inputs"]:
            problems.append("'model.inputs' must name at least one input, e.g. {text: headline}.")
    if "topic_inputs" in model:
        kwargs["topic_inputs"] = _str_pairs("model.topic_inputs", model["topic_inputs"], problems)
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


def _read_detect(raw: object, problems: list[str]) -> DetectSpec:
    detect = _mapping("detect", raw, problems)
    _unknown("detect.", detect, tuple(_DETECT), problems)
    kwargs: dict[str, Any] = {}
    for key, kind in _DETECT.items():
        if key in detect:
            value = _detect_value(key, kind, detect[key], problems)
            kwargs["bucket_s" if key == "bucket" else key] = value
    return DetectSpec(**kwargs)


def _read_alerts(raw: object, problems: list[str]) -> AlertSpec:
    alerts = _mapping("alerts", raw, problems)
    _unknown("alerts.", alerts, _ALERTS, problems)
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


def _read_crawl(raw: object, store: str, base: Path | None, problems: list[str]) -> dict[str, Any]:
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


def parse_monitor_config(raw: object, *, source: str | None = None) -> MonitorConfig:
    """Validate a parsed ``monitor.yaml`` mapping and build a :class:`MonitorConfig`.

    Args:
        raw: the mapping read from YAML.
        source: the file it came from (messages name it; a ``crawl: file.yaml`` is relative
            to its folder).

    Raises:
        ConfigError: listing every problem found.

    Example:
        >>> cfg = parse_monitor_config({"crawl": {"start_urls": ["http://h/"]},
        ...     "model": {"run": "runs/news"}, "detect": {"bucket": "30m"}})
        >>> cfg.detect.bucket_s, cfg.store, cfg.model.negative_class
        (1800.0, 'sqlite:///monitor.db', 'Bearish')
        >>> try:
        ...     parse_monitor_config({"crawl": {"start_urls": ["http://h/"]}, "model": {"run": "r"},
        ...         "detect": {"methd": "pchart", "hold": 0}})
        ... except ConfigError as exc:
        ...     print("\\n".join(exc.problems))  # doctest: +ELLIPSIS
        unknown key 'detect.methd'. Valid keys: bucket, method, ... Did you mean 'method'?
        The 'detect.hold' option of the monitor config must be an int >= 1. Got 0 instead.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError([f"the monitor config must be a mapping. Got {raw!r}."], source=source)
    problems: list[str] = []
    _unknown("", raw, TOP, problems)
    store = raw.get("store", "sqlite:///monitor.db")
    if not isinstance(store, str) or not store:
        problems.append(f"'store' must be a database URL or path. Got {store!r} instead.")
        store = "sqlite:///monitor.db"
    if "crawl" not in raw:
        problems.append("'crawl' is required: the crawl config of the sources to watch.")
    base = Path(source).parent if source else None
    crawl = _read_crawl(raw.get("crawl"), store, base, problems) if "crawl" in raw else {}
    model = _read_model(raw.get("model"), problems)
    detect = _read_detect(raw.get("detect"), problems)
    alerts = _read_alerts(raw.get("alerts"), problems)
    fields = dict(MonitorConfig.__dataclass_fields__["fields"].default)  # type: ignore[arg-type]
    fields.update(dict(_str_pairs("fields", raw.get("fields"), problems)))
    _unknown("fields.", fields, ("headline", "published"), problems)
    dashboard = raw.get("dashboard")
    if dashboard is not None and not (isinstance(dashboard, str) and dashboard.endswith(".html")):
        problems.append(f"'dashboard' must be the path of an .html file. Got {dashboard!r}.")
    every = raw.get("every")
    every_s = parse_duration(every) if every is not None else None
    if every is not None and every_s is None:
        problems.append(f"'every' must be a duration such as 5m. Got {every!r} instead.")
    if problems:
        from manyheads.crawl._redact import redact

        raise ConfigError([redact(p) for p in problems], source=source)
    return MonitorConfig(
        crawl=crawl,
        store=store,
        model=model,
        detect=detect,
        alerts=alerts,
        fields=tuple(fields.items()),
        dashboard=dashboard,
        every_s=every_s,
    )


def load_monitor_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = ()
) -> MonitorConfig:
    """Read ``monitor.yaml``, apply ``key.sub=value`` overrides (YAML values), validate.

    Raises:
        ConfigError: a missing or unreadable file, bad YAML, or any invalid key or value.
    """
    from manyheads.config._yaml import read_yaml_file, yaml_value

    data = read_yaml_file(Path(path), what="monitor config")
    data = dict(data) if isinstance(data, Mapping) else data
    problems: list[str] = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            problems.append(f"override {item!r} must look like key.sub=value.")
            continue
        try:
            parsed = yaml_value(value, override=item)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if isinstance(data, dict):
            node = data
            parts = key.split(".")
            for part in parts[:-1]:
                child = node.get(part)
                node[part] = dict(child) if isinstance(child, Mapping) else {}
                node = node[part]
            node[parts[-1]] = parsed
    if problems:
        raise ConfigError(problems, source=str(path))
    return parse_monitor_config(data, source=str(path))
